package credential

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

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
// token is as good as a password to whoever reads it. Nor does it send one to a redirect target
// of another origin (scheme, host and port) than the request the client started with: an
// http.Client calls the transport for every hop, so the stripping of credentials net/http does
// on cross-host redirects never sees this token. Such a hop goes without it (NewTransportWithOptions
// can allow more origins).
func NewTransport(base http.RoundTripper, cred TokenCredential, opts TokenRequestOptions) http.RoundTripper {
	return NewTransportWithOptions(cred, opts, &TransportOptions{Base: base})
}

// TransportOptions configure NewTransportWithOptions; nil means defaults.
type TransportOptions struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// AllowedOrigins are origins ("https://host[:port]") besides the first request's that a
	// redirect may take the token to.
	AllowedOrigins []string
}

// NewTransportWithOptions is NewTransport with options.
func NewTransportWithOptions(cred TokenCredential, opts TokenRequestOptions, o *TransportOptions) http.RoundTripper {
	if o == nil {
		o = &TransportOptions{}
	}
	t := &transport{base: o.Base, cred: cred, opts: opts}
	if t.base == nil {
		t.base = http.DefaultTransport
	}
	for _, a := range o.AllowedOrigins {
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			t.allowed = append(t.allowed, origin(u))
		}
	}
	return t
}

type transport struct {
	base    http.RoundTripper
	cred    TokenCredential
	opts    TokenRequestOptions
	allowed []string // origins besides the chain's first request's
}

// origin is scheme://host:port, with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// trusted reports whether req may carry the token: it is the first request of its chain, or a
// redirect hop to the first request's origin or an allowed one.
func (t *transport) trusted(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	o := origin(req.URL)
	return first == req || o == origin(first.URL) || slices.Contains(t.allowed, o)
}

// ErrInsecureTransport is returned for a request that would send a token over plain http.
var ErrInsecureTransport = errors.New("credential: refusing to send a bearer token over plain http")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.trusted(req) {
		return t.base.RoundTrip(req) // a redirect to another origin: without the token
	}
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
