package zalo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultAPIURL is the OA API's base.
const DefaultAPIURL = "https://openapi.zalo.me"

// The OA API's paths (research note zalo-oa.md, "Sending").
const (
	pathSend        = "/v3.0/oa/message/cs"
	pathUploadImage = "/v2.0/oa/upload/image"
)

// TokenSource hands out the OA's access token (Tokens).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalid is told that the platform refused token; it refreshes if the
	// stored one is still that token, and returns the one to use now.
	Invalid(ctx context.Context, token string) (string, error)
}

// Client calls the OA API with the access token in its header (not a
// Bearer token). Every answer is HTTP 200 with an "error" field: 0 is
// success. It is safe for concurrent use.
type Client struct {
	APIURL string // DefaultAPIURL, or a fake's URL
	Tokens TokenSource
	HTTP   *http.Client
	// Timeout bounds one call; default 20 s.
	Timeout time.Duration
}

// APIError is an OA API answer whose error is not 0.
type APIError struct {
	Path    string
	Code    int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("zalo: %s: error %d: %s", e.Path, e.Code, e.Message)
}

// ErrUncertain wraps a failure after the request was written: Zalo may
// have carried it out, so it must not simply be repeated.
var ErrUncertain = errors.New("zalo: the call may have taken effect")

// badToken reports whether code says the access token is invalid or
// expired (-216, -220; 216, 401 and -401 are seen in public code too).
func badToken(code int) bool {
	switch code {
	case -216, -220, 216, 401, -401:
		return true
	}
	return false
}

// answer is the OA API's envelope.
type answer struct {
	Error   int             `json:"error"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call makes one API call with the current token; a token error refreshes
// it (Tokens.Invalid) and tries once more. body builds the request body
// anew for each try.
func (c *Client) call(ctx context.Context, path string, body func() (io.Reader, string, error)) (json.RawMessage, error) {
	token, err := c.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		data, err := c.once(ctx, path, token, body)
		var ae *APIError
		if try == 0 && errors.As(err, &ae) && badToken(ae.Code) {
			if token, err = c.Tokens.Invalid(ctx, token); err != nil {
				return nil, err
			}
			continue
		}
		return data, err
	}
}

func (c *Client) once(ctx context.Context, path, token string, body func() (io.Reader, string, error)) (json.RawMessage, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	b, contentType, err := body()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.APIURL, "/")+path, b)
	if err != nil {
		return nil, fmt.Errorf("zalo: %s: %w", path, err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("access_token", token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if wrote.Load() {
			return nil, fmt.Errorf("zalo: %s: %v: %w", path, scrub(err, token), ErrUncertain)
		}
		return nil, fmt.Errorf("zalo: %s: %v", path, scrub(err, token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("zalo: %s: read answer: %v: %w", path, err, ErrUncertain)
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		// A proxy's page, not Zalo's answer: nothing was done.
		return nil, fmt.Errorf("zalo: %s: HTTP %d, unreadable answer", path, resp.StatusCode)
	}
	if a.Error != 0 {
		return nil, &APIError{Path: path, Code: a.Error, Message: a.Message}
	}
	return a.Data, nil
}

// scrub keeps the token out of an error's text.
func scrub(err error, token string) string {
	s := err.Error()
	if token != "" {
		s = strings.ReplaceAll(s, token, "[token]")
	}
	return s
}

func jsonBody(v any) func() (io.Reader, string, error) {
	return func() (io.Reader, string, error) {
		b, err := json.Marshal(v)
		return bytes.NewReader(b), "application/json", err
	}
}

// Send sends a consultation message to a user and returns its message id.
func (c *Client) Send(ctx context.Context, userID string, message map[string]any) (string, error) {
	data, err := c.call(ctx, pathSend, jsonBody(map[string]any{
		"recipient": map[string]string{"user_id": userID},
		"message":   message,
	}))
	if err != nil {
		return "", err
	}
	var d struct {
		MessageID string `json:"message_id"`
	}
	_ = json.Unmarshal(data, &d)
	return d.MessageID, nil
}

// UploadImage uploads a JPEG or PNG (at most 1 MB) and returns its
// attachment id, usable for 7 days.
func (c *Client) UploadImage(ctx context.Context, name string, img []byte) (string, error) {
	data, err := c.call(ctx, pathUploadImage, func() (io.Reader, string, error) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		f, err := w.CreateFormFile("file", name)
		if err == nil {
			_, err = f.Write(img)
		}
		if err == nil {
			err = w.Close()
		}
		return &b, w.FormDataContentType(), err
	})
	if err != nil {
		return "", err
	}
	var d struct {
		AttachmentID string `json:"attachment_id"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.AttachmentID == "" {
		return "", fmt.Errorf("zalo: upload image: no attachment id in the answer")
	}
	return d.AttachmentID, nil
}
