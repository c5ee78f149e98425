package oauth

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryableStatus: request timeout, throttling and the transient server errors (RFC 9110
// section 15; docs/PROTOCOL.md#retries-limits-and-redirects).
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableErr: the connection was reset or closed before a whole answer arrived. Context
// errors, TLS and certificate failures, DNS failures and refused connections are final.
func retryableErr(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// maxServerWait bounds the waits read from headers so that arithmetic on them cannot
// overflow; any wait this long is far past MaxRetryWait and ends the retries.
const maxServerWait = 1000 * time.Hour

// retryAfter reads the server's requested delay: retry-after-ms and x-ms-retry-after-ms
// (milliseconds), then Retry-After as seconds or an HTTP date (RFC 9110 section 10.2.3).
// A huge value is the server's answer too (capped at maxServerWait), not an absent one: it
// ends the retries instead of starting backoff.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	for _, k := range []string{"Retry-After-Ms", "X-Ms-Retry-After-Ms"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
				return min(time.Duration(min(ms, float64(maxServerWait/time.Millisecond))*float64(time.Millisecond)), maxServerWait), true
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil {
		return time.Duration(min(s, uint64(maxServerWait/time.Second))) * time.Second, true
	} else if errors.Is(err, strconv.ErrRange) {
		return maxServerWait, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxServerWait), true
	}
	return 0, false
}
