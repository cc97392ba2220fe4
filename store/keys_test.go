package store

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// crc16 is CRC-16/XMODEM (poly 0x1021, init 0), the checksum of Redis Cluster.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// slot is the cluster slot of a key: the CRC of its hash tag (the text
// between the first "{" and the next "}", if not empty) or of the whole key.
func slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16([]byte(key)) % 16384)
}

func TestSlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", int(0x31C3 % 16384)}, // the CRC-16/XMODEM check value
		{"foo", 12182},                     // CLUSTER KEYSLOT foo
		{"{user1000}.following", slot("user1000")},
		{"foo{}{bar}", slot("foo{}{bar}")}, // empty tag: whole key
		{"foo{{bar}}zap", slot("{bar")},
	}
	for _, tt := range tests {
		if got := slot(tt.key); got != tt.want {
			t.Errorf("slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

// TestScriptKeysShareSlot proves each script's KEYS hash to one slot, which a
// cluster requires and miniredis does not check.
func TestScriptKeysShareSlot(t *testing.T) {
	k := NewKeys("")
	residents := []string{"tg:123", "console:lan", "tg:-1001234", "odd}id", "odd{id"}
	hamlets := []string{"79-26734-01", "", "x{y}", "thôn-1"}
	var sets [][]string
	for _, r := range residents {
		sets = append(sets, k.commitKeys(r, "tg:800000001"), k.commitKeys(r, ""),
			[]string{k.Lock(r)}, []string{k.Outbox(r)}, []string{k.Effects(r)},
			k.replyKeys(r), // popReplyScript
			[]string{k.Sent(r), k.Outbox(r), k.SendLock(r), k.Unreachable(r), k.ButtonsMessage(r), k.Session(r)},
			[]string{k.SendLock(r), k.Outbox(r)},                                 // claimScript
			[]string{k.Sent(r), k.Pace(r), k.ButtonsMessage(r)},                  // paceMarkScript
			[]string{k.Outbox(r), k.Sent(r), k.ButtonsMessage(r), k.SendLock(r)}) // finishScript on a cluster
	}
	for _, h := range hamlets {
		for _, f := range []string{"ewallet", ""} {
			sets = append(sets,
				k.effectKeys(h, f, "2026-04", "0123456789abcdef0123456789abcdef", "tg:1:0"),
				k.expireKeys(h, f, "2026-04"),
				k.migrateCounterKeys(k.hamlet(h, "count:"+f+":2026-04"), h, "2026-04"),
				k.yearCountsKeys(h, "2026"),
				// funnelScript on a cluster (on one node it is guarded by
				// the resident's session, in another slot).
				k.funnelKeys(h, f, "2026-04", "7"))
		}
	}
	for _, c := range []string{"vo-nhai", "", "x{y}"} {
		sets = append(sets, k.askKeys(c))
	}
	// Single-key scripts: compareDelete, renew, beginSend, abortSend, rate,
	// zalo-replace, zalo-disconnect.
	sets = append(sets, []string{k.Lease("telegram-poll")}, []string{k.Rate("tg:global")}, []string{k.Rate("{odd")},
		[]string{k.ZaloTokens()})
	for _, keys := range sets {
		for _, key := range keys[1:] {
			if slot(key) != slot(keys[0]) {
				t.Errorf("%q (slot %d) and %q (slot %d) are in one script but not one slot",
					keys[0], slot(keys[0]), key, slot(key))
			}
		}
	}
	// Different residents spread over slots (no hot slot for all of them).
	if slot(k.Session("tg:1")) == slot(k.Session("tg:2")) && slot(k.Session("tg:2")) == slot(k.Session("tg:3")) {
		t.Error("residents share one slot")
	}
}

// TestSlotMatchesCluster checks slot against a real cluster's CLUSTER KEYSLOT.
func TestSlotMatchesCluster(t *testing.T) {
	addrs := os.Getenv("TEST_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		t.Skip("TEST_REDIS_CLUSTER_ADDRS not set")
	}
	c, err := Connect(ConnectConfig{ClusterAddrs: strings.Split(addrs, ",")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := NewKeys("")
	for _, key := range append(k.effectKeys("h1", "ewallet", "2026-04", "p", "e"),
		k.Session("tg:123"), k.Sent("tg:123"), k.SendLock("tg:123"), k.ButtonsMessage("tg:123"),
		k.Work(), k.OutboxIndex(), k.Lease("poll"), k.Rate("tg:chat:1"), k.Areas(), "foo", "{user1000}.following") {
		got, err := c.ClusterKeySlot(t.Context(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if int(got) != slot(key) {
			t.Errorf("slot(%q) = %d, CLUSTER KEYSLOT says %d", key, slot(key), got)
		}
	}
}

// docKeys reads the key column of the table in doc.go's package comment,
// each key with its placeholders ("R", "<flow>") turned into "*".
func docKeys(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// A row starts with the prefix P; the key column ends at two spaces (a
	// placeholder such as "<update id>" holds one).
	row := regexp.MustCompile(`(?m)^//\t(P:\S.*?) {2,}`)
	tag := regexp.MustCompile(`\{([a-z]):[A-Z]\}`)
	placeholder := regexp.MustCompile(`<[^>]*>`)
	var keys []string
	for _, m := range row.FindAllStringSubmatch(string(src), -1) {
		k := tag.ReplaceAllString(m[1], "{$1:*}")
		keys = append(keys, placeholder.ReplaceAllString(k, "*"))
	}
	if len(keys) < 10 {
		t.Fatalf("found %d rows in doc.go's key table: has its layout changed?", len(keys))
	}
	return keys
}

// TestDocKeyTableMatchesKeys checks doc.go's table of keys against keys.go:
// every key builder (an exported method of Keys that returns a key) has its
// row, and every row a builder, so that a key added, renamed or dropped in
// keys.go cannot leave the table behind.
func TestDocKeyTableMatchesKeys(t *testing.T) {
	documented := docKeys(t)
	k := reflect.ValueOf(NewKeys("P"))
	var built []string
	for i := range k.NumMethod() {
		name := k.Type().Method(i).Name
		m := k.Method(i)
		if name == "Prefix" || m.Type().NumOut() != 1 || m.Type().Out(0).Kind() != reflect.String {
			continue
		}
		args := make([]reflect.Value, m.Type().NumIn())
		for j := range args {
			if m.Type().In(j).Kind() != reflect.String {
				t.Fatalf("Keys.%s takes a %s: teach this test its placeholder", name, m.Type().In(j))
			}
			args[j] = reflect.ValueOf("\x00")
		}
		key := strings.ReplaceAll(m.Call(args)[0].String(), "\x00", "*")
		built = append(built, key)
		if !slices.Contains(documented, key) {
			t.Errorf("Keys.%s builds %s, which has no row in doc.go's key table", name, key)
		}
	}
	for _, key := range documented {
		if !slices.Contains(built, key) {
			t.Errorf("doc.go's key table has %s, which no method of Keys builds", key)
		}
	}
}

// TestCountsPlan: a year of which seven or more months are asked is read
// from its year key less the months not asked; other months as they are.
func TestCountsPlan(t *testing.T) {
	m := func(name string, sign int64) countsRead { return countsRead{name: name, sign: sign} }
	y := func(name string) countsRead { return countsRead{year: true, name: name, sign: 1} }
	months := func(year string, from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s-%02d", year, i))
		}
		return out
	}
	tests := []struct {
		name   string
		months []string
		want   []countsRead
	}{
		{"a whole year", months("2026", 1, 12), []countsRead{y("2026")}},
		{"nine months", months("2026", 1, 9), []countsRead{y("2026"), m("2026-10", -1), m("2026-11", -1), m("2026-12", -1)}},
		{"seven months", months("2026", 6, 12), []countsRead{y("2026"), m("2026-01", -1), m("2026-02", -1), m("2026-03", -1), m("2026-04", -1), m("2026-05", -1)}},
		{"six months", months("2026", 1, 6), []countsRead{m("2026-01", 1), m("2026-02", 1), m("2026-03", 1), m("2026-04", 1), m("2026-05", 1), m("2026-06", 1)}},
		{"a year and two months", append(months("2025", 11, 12), months("2026", 1, 12)...), []countsRead{m("2025-11", 1), m("2025-12", 1), y("2026")}},
		{"a month twice", append(months("2026", 1, 12), "2026-03"), nil},
		{"not a month", append(months("2026", 1, 12), "2026-13", "x"), []countsRead{y("2026"), m("2026-13", 1), m("x", 1)}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		got, usesYears := countsPlan(tt.months)
		if tt.name == "a month twice" {
			tt.want = monthsPlan(tt.months) // a month asked twice counts twice, as before
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		if want := slices.ContainsFunc(tt.want, func(r countsRead) bool { return r.year }); usesYears != want {
			t.Errorf("%s: usesYears %v, want %v", tt.name, usesYears, want)
		}
	}
}
