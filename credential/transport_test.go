package credential

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// resource is a local TLS resource server that records the bearer tokens and bodies it sees and
// answers with a claims challenge while challenge() says so.
type resource struct {
	srv       *httptest.Server
	mu        sync.Mutex
	tokens    []string
	bodies    []string
	challenge func(n int) bool
}

const challengeClaims = `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`

func newResource(t *testing.T, challenge func(n int) bool) *resource {
	r := &resource{challenge: challenge}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.tokens = append(r.tokens, strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer "))
		r.bodies = append(r.bodies, string(body))
		n := len(r.tokens)
		r.mu.Unlock()
		if r.challenge(n) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`+
				base64.StdEncoding.EncodeToString([]byte(challengeClaims))+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func TestTransportAddsAndReusesTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	res := newResource(t, func(int) bool { return false })
	hc := &http.Client{Transport: NewTransport(res.srv.Client().Transport, c, scopes(graph))}
	for range 3 {
		resp, err := hc.Get(res.srv.URL + "/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if res.tokens[0] == "" || res.tokens[0] != res.tokens[2] || f.srv.TokenRequests() != 1 {
		t.Errorf("tokens %d distinct, %d token requests; want one cached token", len(res.tokens), f.srv.TokenRequests())
	}
}

func TestTransportAnswersAClaimsChallengeOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	res := newResource(t, func(n int) bool { return n == 1 })
	hc := &http.Client{Transport: NewTransport(res.srv.Client().Transport, c, scopes(graph))}
	req, _ := http.NewRequest(http.MethodPost, res.srv.URL+"/items", strings.NewReader(`{"name":"x"}`))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(res.tokens) != 2 || res.tokens[0] == res.tokens[1] {
		t.Fatalf("status %d after %d requests", resp.StatusCode, len(res.tokens))
	}
	if res.bodies[1] != `{"name":"x"}` {
		t.Errorf("the retried body = %q", res.bodies[1])
	}
	if got := f.lastForm().Get("claims"); got != challengeClaims {
		t.Errorf("token request claims = %q", got)
	}
}

func TestTransportNeverLoopsAndNeverReplaysAnUnreplayableBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	res := newResource(t, func(int) bool { return true })
	hc := &http.Client{Transport: NewTransport(res.srv.Client().Transport, c, scopes(graph))}
	resp, err := hc.Get(res.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(res.tokens) != 2 {
		t.Errorf("status %d after %d requests; want 401 after exactly one retry", resp.StatusCode, len(res.tokens))
	}
	req, _ := http.NewRequest(http.MethodPost, res.srv.URL, io.NopCloser(strings.NewReader("stream")))
	req.GetBody = nil
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(res.tokens) != 3 {
		t.Errorf("unreplayable body: status %d after %d requests in all; want the 401 and no retry", resp.StatusCode, len(res.tokens))
	}
}

func TestTransportRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	rt := NewTransport(nil, c, scopes(graph))
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://graph.example.com/me", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, ErrInsecureTransport) || f.srv.TokenRequests() != 0 {
		t.Errorf("err = %v", err)
	}
}

// A redirect to another origin never carries the token: the http.Client calls the transport for
// every hop, below its own stripping of credentials.
func TestTransportNeverFollowsARedirectWithTheToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	var mu sync.Mutex
	seen := map[string]string{} // server -> the Authorization header it got
	record := func(name string, next http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
			next(w, r)
		}
	}
	elsewhere := httptest.NewTLSServer(record("elsewhere", func(w http.ResponseWriter, r *http.Request) {}))
	defer elsewhere.Close()
	allowed := httptest.NewTLSServer(record("allowed", func(w http.ResponseWriter, r *http.Request) {}))
	defer allowed.Close()
	api := httptest.NewTLSServer(record("api", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/here", http.StatusFound)
		case "/allowed":
			http.Redirect(w, r, allowed.URL+"/ok", http.StatusTemporaryRedirect)
		}
	}))
	defer api.Close()
	hc := &http.Client{Transport: NewTransportWithOptions(c, scopes(graph), &TransportOptions{Base: api.Client().Transport, AllowedOrigins: []string{allowed.URL}})}
	for _, path := range []string{"/away", "/same", "/allowed"} {
		resp, err := hc.Get(api.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if seen["elsewhere"] != "" {
		t.Errorf("a redirect to another origin carried the token")
	}
	if !strings.HasPrefix(seen["api"], "Bearer ") || !strings.HasPrefix(seen["allowed"], "Bearer ") {
		t.Errorf("the same origin and an allowed one must get the token: %q", seen)
	}
}
