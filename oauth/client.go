// Package oauth is an OAuth 2.0 token-endpoint client (RFC 6749) for the Microsoft Entra ID v2.0
// endpoint: the authorization code grant with PKCE (RFC 7636) and the refresh token grant, their
// form encoding, response and error parsing, retries and size limits. It knows nothing about
// caching or which grant to use when; package credential decides that.
//
// The protocol is explained, exchange by exchange, in docs/PROTOCOL.md.
//
// # Security considerations
//
// Requests carry secrets (client secrets, codes, verifiers, refresh tokens). So this package
// never follows a redirect (a 307 would resend the form elsewhere), reads every body through a
// 1 MiB limit, accepts only an RFC 6750 b64token as an access token (no header injection),
// never puts a request field or a response body in an error message or a log record, and
// scrubs every secret a request carried from the error text a server sends back (a hostile
// server may echo it).
package oauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is entrakit's version, sent in the User-Agent.
const Version = "0.1.0"

// DefaultUserAgent names entrakit and its version.
const DefaultUserAgent = "entrakit/" + Version + " (+https://github.com/entrakit/entrakit)"

// MaxBodySize is the largest response body read (x/oauth2 uses the same limit).
const MaxBodySize = 1 << 20

// Defaults for the zero Client.
const (
	DefaultMaxRetries     = 3
	DefaultRequestTimeout = 30 * time.Second
	DefaultBackoff        = 800 * time.Millisecond
	DefaultMaxRetryWait   = 60 * time.Second
)

// Client sends token requests. Its zero value is ready to use with http.DefaultClient's
// transport; it is safe for concurrent use once its fields are set.
type Client struct {
	// HTTPClient sends the requests; nil means http.DefaultClient. Its CheckRedirect is
	// ignored: redirects are never followed.
	HTTPClient *http.Client
	// UserAgent replaces DefaultUserAgent when set.
	UserAgent string
	// MaxRetries bounds retries of one request: 0 means DefaultMaxRetries, a negative value none.
	MaxRetries int
	// RequestTimeout applies to each attempt only when the caller's context has no deadline;
	// 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Backoff is the first retry delay when the server gives none (doubling, with jitter);
	// 0 means DefaultBackoff.
	Backoff time.Duration
	// MaxRetryWait is the longest server-requested wait honoured; a longer Retry-After ends
	// the retries. 0 means DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug record per HTTP exchange (method, host, path, status,
	// duration, client request id); never a form field, header value or body. nil is silent.
	Logger *slog.Logger
}

// Exchange POSTs form to the token endpoint and parses the answer. On success it returns the
// token. A server's refusal or nonsense is a *RetrieveError; a network failure after the retries
// is returned wrapped, with the URL but never the form.
//
// Every secret value the form carries (code, verifier, client secret, refresh token) is scrubbed
// from the *RetrieveError, body included, in case the server echoed it.
func (c *Client) Exchange(ctx context.Context, endpoint string, form url.Values) (*Token, error) {
	tok, err := c.exchange(ctx, endpoint, form.Encode())
	var re *RetrieveError
	if errors.As(err, &re) {
		sent := map[string]string{}
		collectSecrets(sent, form)
		re.scrub(sent)
	}
	return tok, err
}

func (c *Client) exchange(ctx context.Context, endpoint, body string) (*Token, error) {
	hc := c.noRedirectClient()
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	}
	for attempt := 0; ; attempt++ {
		requestTime := c.now()
		status, header, respBody, reqID, err := c.attempt(ctx, hc, endpoint, body)
		if err == nil && !retryableStatus(status) || err != nil && !retryableErr(err) || attempt >= maxRetries || ctx.Err() != nil {
			if err != nil {
				return nil, c.transportError(ctx, endpoint, err)
			}
			return finish(status, header, respBody, reqID, requestTime)
		}
		wait, fromServer := retryAfter(header, c.now())
		if !fromServer {
			wait = c.backoff(attempt)
		} else if wait > c.maxRetryWait() {
			return finish(status, header, respBody, reqID, requestTime)
		}
		if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
			// Waiting would outlive the caller: answer now with what we have.
			if err != nil {
				return nil, c.transportError(ctx, endpoint, err)
			}
			return finish(status, header, respBody, reqID, requestTime)
		}
		// docs/PROTOCOL.md#retries-limits-and-redirects: never wait past the caller's deadline (above).
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("oauth: POST %s: %w", endpoint, err)
		}
	}
}

func (c *Client) transportError(ctx context.Context, endpoint string, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return fmt.Errorf("oauth: POST %s: %w", endpoint, err)
}

// finish turns a final HTTP answer into a token or a *RetrieveError.
func finish(status int, header http.Header, body []byte, reqID string, requestTime time.Time) (*Token, error) {
	e := &RetrieveError{StatusCode: status, ContentType: header.Get("Content-Type"), ClientRequestID: reqID, Body: body}
	switch {
	case status >= 300 && status < 400:
		e.Err = ErrRedirect
		return nil, e
	case len(body) > MaxBodySize:
		e.Body = body[:MaxBodySize]
		e.Err = ErrBodyTooLarge
		return nil, e
	}
	if e.parseBody(body) {
		return nil, e // an RFC 6749 error response, whatever the status
	}
	if status != http.StatusOK {
		e.Err = describeBody(body)
		return nil, e
	}
	t, err := ParseToken(body, requestTime)
	if err != nil {
		e.Err = err
		return nil, e
	}
	return t, nil
}

func describeBody(body []byte) error {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) == 0:
		return fmt.Errorf("%w: empty body", ErrMalformedResponse)
	case trimmed[0] != '{':
		return fmt.Errorf("%w: the body is not a JSON object (%d bytes)", ErrMalformedResponse, len(body))
	default:
		return fmt.Errorf("%w: the body is a JSON object without an \"error\" field (%d bytes)", ErrMalformedResponse, len(body))
	}
}

// attempt sends one request. It returns the whole body (up to MaxBodySize+1 bytes) or an error.
func (c *Client) attempt(ctx context.Context, hc *http.Client, endpoint, body string) (int, http.Header, []byte, string, error) {
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.RequestTimeout
		if timeout == 0 {
			timeout = DefaultRequestTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, "", err
	}
	reqID := newUUID()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	// Entra echoes client-request-id and uses it as the correlation ID of errors
	// (docs/PROTOCOL.md#redeeming-the-code).
	req.Header.Set("client-request-id", reqID)
	req.Header.Set("return-client-request-id", "true")
	start := c.now()
	resp, err := hc.Do(req)
	if err != nil {
		c.log(ctx, req, 0, start, reqID, err)
		return 0, nil, nil, reqID, err
	}
	defer resp.Body.Close()
	// docs/PROTOCOL.md#retries-limits-and-redirects: every body is read through a 1 MiB limit.
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodySize+1))
	c.log(ctx, req, resp.StatusCode, start, reqID, err)
	if err != nil {
		return resp.StatusCode, resp.Header, nil, reqID, fmt.Errorf("reading the response body: %w", err)
	}
	if b == nil {
		b = []byte{}
	}
	return resp.StatusCode, resp.Header, b, reqID, nil
}

func (c *Client) log(ctx context.Context, req *http.Request, status int, start time.Time, reqID string, err error) {
	if c.Logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path),
		slog.Int("status", status), slog.Duration("duration", c.now().Sub(start)), slog.String("client_request_id", reqID),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.Logger.LogAttrs(ctx, slog.LevelDebug, "entrakit: token request", attrs...)
}

// noRedirectClient copies the configured client with redirects turned off, so a 3xx comes back
// as a response and its target never receives the form (a 307/308 resends the body, RFC 9110
// section 15.4.8; docs/PROTOCOL.md#retries-limits-and-redirects).
func (c *Client) noRedirectClient() *http.Client {
	hc := http.DefaultClient
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) maxRetryWait() time.Duration {
	if c.MaxRetryWait > 0 {
		return c.MaxRetryWait
	}
	return DefaultMaxRetryWait
}

// backoff is exponential with jitter: base*2^attempt scaled by a random factor in [0.5, 1).
func (c *Client) backoff(attempt int) time.Duration {
	base := c.Backoff
	if base <= 0 {
		base = DefaultBackoff
	}
	d := base << min(attempt, 10)
	return d/2 + mrand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newUUID returns a random (version 4) UUID for client-request-id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
