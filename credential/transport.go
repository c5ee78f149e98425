package credential

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/entrakit/entrakit/entra"
)

// NewTransport returns an http.RoundTripper that authorizes each request with a bearer token
// from cred (cached tokens are reused; the credential refreshes them in time). When a resource
// answers 401 with a WWW-Authenticate claims challenge (Entra's CAE and conditional access), it
// gets a token with those claims and retries once; it never loops. A request with a body is
// retried only when the body can be replayed (http.NewRequest sets GetBody for in-memory
// bodies); otherwise the 401 is returned as it is. base nil means http.DefaultTransport.
//
// The transport never sends a token over plain http to a host other than localhost: a bearer
// token is as good as a password to whoever reads it.
func NewTransport(base http.RoundTripper, cred TokenCredential, opts TokenRequestOptions) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, cred: cred, opts: opts}
}

type transport struct {
	base http.RoundTripper
	cred TokenCredential
	opts TokenRequestOptions
}

// ErrInsecureTransport is returned for a request that would send a token over plain http.
var ErrInsecureTransport = errors.New("credential: refusing to send a bearer token over plain http")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !isLoopback(req.URL.Hostname()) {
		closeBody(req)
		return nil, fmt.Errorf("%w to %s", ErrInsecureTransport, req.URL.Host)
	}
	resp, err := t.send(req, t.opts)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	claims, ok := entra.ParseClaimsChallenge(resp.Header.Get("WWW-Authenticate"))
	if !ok {
		return resp, nil
	}
	retry, ok := rewind(req)
	if !ok {
		return resp, nil // the body cannot be sent twice: let the caller decide
	}
	opts := t.opts
	opts.Claims = claims
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return t.send(retry, opts)
}

// send authorizes a copy of req (RoundTrippers must not modify the caller's request).
func (t *transport) send(req *http.Request, opts TokenRequestOptions) (*http.Response, error) {
	tok, err := t.cred.GetToken(req.Context(), opts)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.Token)
	return t.base.RoundTrip(r)
}

// rewind returns req ready to be sent again, if its body allows it.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, true
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
