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
	"encoding/json"
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
	// Sleep waits between attempts of Exchange, until ctx ends; nil means a timer. (Tests set
	// it to record the waits instead of sleeping them.)
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one debug record per HTTP exchange (method, host, path, status,
	// duration, client request id); never a form field, header value or body. nil is silent.
	Logger *slog.Logger
}

// Exchange POSTs form to the token endpoint and parses the answer, retrying transient failures
// as [Client.NextRetry] allows. On success it returns the token. A server's refusal or nonsense
// is a *RetrieveError; a network failure after the retries is returned wrapped, with the URL
// but never the form.
//
// Every secret value the form carries (code, verifier, client secret, refresh token) is scrubbed
// from the *RetrieveError, body included, in case the server echoed it.
func (c *Client) Exchange(ctx context.Context, endpoint string, form url.Values) (*Token, error) {
	body := form.Encode()
	for attempt := 0; ; attempt++ {
		tok, err := c.send(ctx, endpoint, body, form)
		wait, again := c.NextRetry(ctx, err, attempt)
		if !again {
			return tok, err
		}
		if err := c.Wait(ctx, wait); err != nil {
			return nil, fmt.Errorf("oauth: POST %s: %w", endpoint, err)
		}
	}
}

// Send makes one attempt of the request Exchange makes, without retrying: callers that hold a
// lock while a request is under way (package credential holds the account's cache lock) use it
// to release the lock before they wait and retry. [Client.NextRetry] says whether and when to
// retry its error.
func (c *Client) Send(ctx context.Context, endpoint string, form url.Values) (*Token, error) {
	return c.send(ctx, endpoint, form.Encode(), form)
}

func (c *Client) send(ctx context.Context, endpoint, body string, form url.Values) (*Token, error) {
	requestTime := c.now()
	status, header, respBody, reqID, err := c.attempt(ctx, c.noRedirectClient(), endpoint, body)
	if err != nil {
		err = c.transportError(ctx, endpoint, err)
		if retryableErr(err) && ctx.Err() == nil {
			err = &retryableError{err}
		}
		return nil, err
	}
	tok, err := finish(status, header, respBody, reqID, requestTime)
	var re *RetrieveError
	if errors.As(err, &re) {
		sent := map[string]string{}
		collectSecrets(sent, form)
		re.scrub(sent)
		if retryableStatus(status) {
			re.retry = retryHint{ok: true}
			re.retry.after, re.retry.fromServer = retryAfter(header, c.now())
		}
	}
	return tok, err
}

// NextRetry says whether to try again after err, the outcome of attempt number attempt (0 for
// the first), and after how long (docs/PROTOCOL.md#retries-limits-and-redirects): only
// transient failures (408, 429, 500, 502, 503, 504, a reset connection), at most MaxRetries
// times, after the wait the server asked for (retry-after-ms, x-ms-retry-after-ms, Retry-After)
// or else exponential backoff with jitter. A wait longer than MaxRetryWait, or one that would
// end after ctx's deadline, ends the retries: the caller gets the server's answer at once.
func (c *Client) NextRetry(ctx context.Context, err error, attempt int) (time.Duration, bool) {
	if err == nil || ctx.Err() != nil || attempt >= c.maxRetries() {
		return 0, false
	}
	var hint retryHint
	var re *RetrieveError
	var te *retryableError
	switch {
	case errors.As(err, &re):
		hint = re.retry
	case errors.As(err, &te):
		hint = retryHint{ok: true}
	}
	if !hint.ok {
		return 0, false
	}
	wait := hint.after
	if !hint.fromServer {
		wait = c.backoff(attempt)
	} else if wait > c.maxRetryWait() {
		return 0, false
	}
	if dl, ok := ctx.Deadline(); ok && c.now().Add(wait).After(dl) {
		return 0, false // waiting would outlive the caller: answer now with what we have
	}
	return wait, true
}

func (c *Client) maxRetries() int {
	switch {
	case c.MaxRetries < 0:
		return 0
	case c.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return c.MaxRetries
}

func (c *Client) transportError(ctx context.Context, endpoint string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // net/http's error repeats the method and URL this one starts with
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return fmt.Errorf("oauth: POST %s: %w", endpoint, err)
}

// finish turns a final HTTP answer into a token or a *RetrieveError, reading the body once.
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
	a, perr := readAnswer(body)
	if code := a.errorCode(); perr == nil && code != "" {
		// An RFC 6749 section 5.2 error response, whatever the status (docs/PROTOCOL.md#errors).
		e.ErrorCode = code
		e.Description, _ = a.str(mErrorDescription)
		e.ErrorURI, _ = a.str(mErrorURI)
		return nil, e
	}
	if status != http.StatusOK {
		e.Err = describeBody(body, perr)
		return nil, e
	}
	if perr != nil {
		e.Err = perr
		return nil, e
	}
	t, err := a.token(requestTime)
	if err != nil {
		e.Err = err
		return nil, e
	}
	return t, nil
}

func describeBody(body []byte, perr error) error {
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{' && perr != nil && json.Valid(trimmed):
		return perr // an ambiguous object: a member twice, or in two cases
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

// Wait waits d, or until ctx ends (returning its error), with Sleep when it is set: the wait
// between attempts, for callers that retry Send themselves.
func (c *Client) Wait(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
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
