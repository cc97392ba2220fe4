package store_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// fakeRedis serves one canned behaviour to every command: reply with a RESP
// error line, hang (never reply) or close the connection.
func fakeRedis(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
	})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					if err := readCommand(r); err != nil {
						return
					}
					switch reply {
					case "hang":
						<-done
						return
					case "close":
						return
					}
					if _, err := conn.Write([]byte(reply + "\r\n")); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "*") {
		return fmt.Errorf("not an array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return err
	}
	for range n {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return err
		}
		if _, err := r.ReadString('\n'); err != nil { // data
			return err
		}
	}
	return nil
}

// errorFrom runs a GET through a real client against addr and returns its
// error: the errors IsUnavailable sees in production, not hand-made ones.
func errorFrom(t *testing.T, addr string) error {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 100 * time.Millisecond,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer c.Close()
	return c.Get(t.Context(), "k").Err()
}

func TestIsUnavailable(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		return addr
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithTimeout(t.Context(), -time.Second)
	defer cancel2()
	tests := []struct {
		name string
		err  func() error
		want bool
	}{
		{"nil", func() error { return nil }, false},
		{"connection refused", func() error { return errorFrom(t, closed()) }, true},
		{"connection closed", func() error { return errorFrom(t, fakeRedis(t, "close")) }, true},
		{"read timeout", func() error { return errorFrom(t, fakeRedis(t, "hang")) }, true},
		{"pool timeout", func() error { return fmt.Errorf("store: x: %w", redis.ErrPoolTimeout) }, true},
		{"context deadline", func() error { return expired.Err() }, true},
		{"context cancelled", func() error { return cancelled.Err() }, false},
		{"CLUSTERDOWN", func() error { return errorFrom(t, fakeRedis(t, "-CLUSTERDOWN The cluster is down")) }, true},
		{"LOADING", func() error { return errorFrom(t, fakeRedis(t, "-LOADING Redis is loading the dataset in memory")) }, true},
		{"TRYAGAIN", func() error {
			return errorFrom(t, fakeRedis(t, "-TRYAGAIN Multiple keys request during rehashing of slot"))
		}, true},
		{"MASTERDOWN", func() error {
			return errorFrom(t, fakeRedis(t, "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."))
		}, true},
		{"READONLY", func() error {
			return errorFrom(t, fakeRedis(t, "-READONLY You can't write against a read only replica."))
		}, true},
		{"wrapped READONLY", func() error {
			return fmt.Errorf("store: commit x: %w", errorFrom(t, fakeRedis(t, "-READONLY You can't write against a read only replica.")))
		}, true},
		{"WRONGTYPE", func() error {
			return errorFrom(t, fakeRedis(t, "-WRONGTYPE Operation against a key holding the wrong kind of value"))
		}, false},
		{"script error", func() error {
			return errorFrom(t, fakeRedis(t, "-ERR user_script:1: Script attempted to access nonexistent global variable 'bit'"))
		}, false},
		{"message mentioning LOADING", func() error { return errorFrom(t, fakeRedis(t, "-ERR key LOADING not found")) }, false},
		{"redis.Nil", func() error { return redis.Nil }, false},
		{"client closed", func() error { return redis.ErrClosed }, false},
		{"stale", func() error { return fmt.Errorf("store: commit x: %w", flows.ErrStale) }, false},
		{"locked", func() error { return fmt.Errorf("store: lock x: %w", flows.ErrLocked) }, false},
		{"plain", func() error { return errors.New("connection refused") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if got := store.IsUnavailable(err); got != tt.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
