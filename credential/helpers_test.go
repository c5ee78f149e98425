package credential

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrakit/entrakit/entra"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

const (
	testClient   = "3f6b2a1c-0d4e-4f5a-8b9c-7d6e5f4a3b2c"
	testRedirect = "http://127.0.0.1:5173/callback"
	graph        = "https://graph.microsoft.com/.default"
	vault        = "https://vault.azure.net/.default"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	srv   *entratest.Server
	clock *clock

	mu    sync.Mutex
	waits []time.Duration // the retry waits credentials made (recorded, not slept)
}

// sleep records a retry wait instead of sleeping: tests assert the wait, and run in
// milliseconds.
func (f *fixture) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fixture) recordedWaits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

func newFixture(t *testing.T, opts *entratest.Options) *fixture {
	t.Helper()
	srv := entratest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, clock: newClock()}
}

// code mints a code for user with PKCE and returns it with its verifier.
func (f *fixture) code(user entratest.User) (code, verifier string) {
	verifier = oauth.NewVerifier()
	code = f.srv.IssueCode(entratest.CodeRequest{ClientID: testClient, RedirectURI: testRedirect,
		Scopes: []string{"openid", "offline_access"}, CodeChallenge: oauth.S256Challenge(verifier), User: user})
	return code, verifier
}

// cred makes an AuthorizationCode for a fresh code of user, against the fake.
func (f *fixture) cred(user entratest.User, mod func(*AuthorizationCodeOptions)) *AuthorizationCode {
	f.t.Helper()
	code, verifier := f.code(user)
	opts := &AuthorizationCodeOptions{CodeVerifier: verifier, AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client(), Now: f.clock.Now}
	if mod != nil {
		mod(opts)
	}
	c, err := NewAuthorizationCode(f.srv.TenantID(), testClient, code, testRedirect, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	c.e.client.Sleep = f.sleep
	f.t.Cleanup(func() { c.Close() })
	return c
}

func (f *fixture) tokenForms() []url.Values {
	var out []url.Values
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/token") {
			out = append(out, r.Form)
		}
	}
	return out
}

func (f *fixture) lastForm() url.Values {
	forms := f.tokenForms()
	if len(forms) == 0 {
		f.t.Fatal("no token request was made")
	}
	return forms[len(forms)-1]
}

func get(t *testing.T, c TokenCredential, opts TokenRequestOptions) AccessToken {
	t.Helper()
	tok, err := c.GetToken(context.Background(), opts)
	if err != nil {
		t.Fatalf("GetToken(%v): %v", opts.Scopes, err)
	}
	return tok
}

func scopes(s ...string) TokenRequestOptions { return TokenRequestOptions{Scopes: s} }

// oid is the object ID inside an access token issued by the fake.
func oid(t *testing.T, token string) string {
	t.Helper()
	c, err := entra.DecodeUnverified(token)
	if err != nil {
		t.Fatal(err)
	}
	return c.ObjectID
}

var bob = entratest.User{ObjectID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", Username: "bob@contoso.example", Name: "Bob"}
