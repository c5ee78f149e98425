package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrRedirect is wrapped by the error for a 3xx answer to a token request. Redirects are never
// followed: a 307 or 308 would resend the form, with its secrets, to another URL.
var ErrRedirect = errors.New("oauth: the token endpoint answered with a redirect, which is never followed")

// ErrBodyTooLarge is wrapped when a response body exceeds [MaxBodySize].
var ErrBodyTooLarge = errors.New("oauth: response body exceeds 1 MiB")

// RetrieveError is a token endpoint answer that is not a usable token: an RFC 6749 section 5.2
// error response, or a body that is empty, not JSON, too large, truncated or a redirect.
// Its Error method never includes the body or description text beyond the first line, and
// Client.Exchange scrubs every secret the request carried from all of its fields.
type RetrieveError struct {
	StatusCode      int
	ContentType     string
	ErrorCode       string // RFC 6749 "error", e.g. "invalid_grant"
	Description     string // "error_description" (whole; see FirstLine)
	ErrorURI        string
	ClientRequestID string // the client-request-id header the request carried
	// Body is the response body as read (at most MaxBodySize bytes), for Entra-specific
	// fields, with what the request sent scrubbed out: a JSON body is decoded, scrubbed and
	// encoded again (members sorted, a duplicated member once). It is never printed.
	Body []byte
	// Err is the underlying cause when the body could not be used (ErrRedirect,
	// ErrBodyTooLarge, ErrMalformedResponse, a read error), else nil.
	Err error

	retry retryHint // whether the answer is worth another attempt, and when
}

// retryHint is what an answer says about retrying it (docs/PROTOCOL.md#retries-limits-and-redirects).
type retryHint struct {
	ok         bool          // the status or failure is transient
	after      time.Duration // the wait the server asked for, when fromServer
	fromServer bool
}

// retryableError is a transport failure worth another attempt (a reset connection).
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func (e *RetrieveError) Error() string {
	var b strings.Builder
	b.WriteString("oauth: token endpoint answered ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.ErrorCode != "" {
		b.WriteString(": ")
		b.WriteString(e.ErrorCode)
		if d := FirstLine(e.Description); d != "" {
			b.WriteString(": ")
			b.WriteString(d)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
		if e.ContentType != "" {
			b.WriteString(" (content type ")
			b.WriteString(strconv.Quote(e.ContentType))
			b.WriteString(")")
		}
	}
	return b.String()
}

func (e *RetrieveError) Unwrap() error { return e.Err }

// Format keeps the body out of every verb, including %#v.
func (e *RetrieveError) Format(f fmt.State, verb rune) {
	if verb == 'v' && (f.Flag('#') || f.Flag('+')) {
		fmt.Fprintf(f, "&oauth.RetrieveError{StatusCode:%d ContentType:%q ErrorCode:%q Description:%q ClientRequestID:%q Body:[%d bytes] Err:%v}",
			e.StatusCode, e.ContentType, e.ErrorCode, FirstLine(e.Description), e.ClientRequestID, len(e.Body), e.Err)
		return
	}
	fmt.Fprint(f, e.Error())
}

// FirstLine returns the first line of an Entra error_description, which continues with
// "Trace ID", "Correlation ID" and "Timestamp" lines.
func FirstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// scrub removes the secrets a request carried (value -> field name) from everything the error
// holds that came from the server.
//
// The body is scrubbed twice: as raw text, and, when it is JSON, value by value after
// decoding, because JSON may write a secret with escapes (one "\u0041" in it is enough to hide
// it from a scan of the raw bytes) that whoever reads a field of it later will decode.
func (e *RetrieveError) scrub(sent map[string]string) {
	e.ErrorCode = scrub(e.ErrorCode, sent)
	e.Description = scrub(e.Description, sent)
	e.ErrorURI = scrub(e.ErrorURI, sent)
	e.ContentType = scrub(e.ContentType, sent)
	if len(e.Body) > 0 {
		e.Body = []byte(scrub(string(e.Body), sent))
		var v any
		dec := json.NewDecoder(bytes.NewReader(e.Body))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			var clean bytes.Buffer
			enc := json.NewEncoder(&clean)
			enc.SetEscapeHTML(false) // "<echoed refresh_token>" reads as written
			if enc.Encode(scrubJSON(v, sent)) == nil {
				e.Body = bytes.TrimSuffix(clean.Bytes(), []byte("\n"))
			}
		}
	}
}

// scrubJSON scrubs every string of a decoded JSON value, member names included.
func scrubJSON(v any, sent map[string]string) any {
	switch x := v.(type) {
	case string:
		return scrub(x, sent)
	case []any:
		for i := range x {
			x[i] = scrubJSON(x[i], sent)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[scrub(k, sent)] = scrubJSON(val, sent)
		}
		return out
	}
	return v
}
