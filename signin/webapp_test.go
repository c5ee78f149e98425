package signin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// webApp serves a WebApp's two handlers on a loopback TLS server (cookies are Secure).
type webApp struct {
	srv      *entratest.Server
	app      *httptest.Server
	tokens   *cache.Cache
	mu       sync.Mutex
	signedIn []*Result
	returns  []string
}

func newWebApp(t *testing.T, store StateStore) *webApp {
	t.Helper()
	w := &webApp{srv: newFake(t)}
	w.tokens, _ = cache.New(nil)
	mux := http.NewServeMux()
	w.app = httptest.NewTLSServer(mux)
	t.Cleanup(w.app.Close)
	cfg := testConfig(w.srv)
	cfg.Cache = w.tokens
	opts := WebAppOptions{RedirectURI: w.app.URL + "/auth/callback", Store: store,
		OnSignIn: func(rw http.ResponseWriter, r *http.Request, res *Result, returnTo string) {
			w.mu.Lock()
			w.signedIn, w.returns = append(w.signedIn, res), append(w.returns, returnTo)
			w.mu.Unlock()
			_, _ = io.WriteString(rw, "hello "+res.Account.Username)
		},
		Options: func(r *http.Request) *RequestOptions {
			return &RequestOptions{LoginHint: r.URL.Query().Get("login_hint")}
		},
	}
	if store == nil {
		opts.CookieKey = bytes.Repeat([]byte{7}, 32)
	}
	a, err := NewWebApp(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/start", a.StartHandler())
	mux.Handle("/auth/callback", a.CallbackHandler())
	return w
}

// browser is one browser (its own cookie jar) that does not follow redirects by itself.
func (w *webApp) browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *w.app.Client() // a copy: Client returns the same one every time
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// signIn runs the flow in browser b and returns the callback's URL and the final page.
func (w *webApp) signIn(t *testing.T, b *http.Client, query string) (*url.URL, *http.Response, string) {
	t.Helper()
	resp, err := b.Get(w.app.URL + "/auth/start?" + query)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: status %d", resp.StatusCode)
	}
	callback := authorize(t, w.srv, resp.Header.Get("Location"))
	final, err := b.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(final.Body)
	final.Body.Close()
	return callback, resp, string(body)
}

func TestWebAppSignsManyUsersInEachIntoTheirOwnAccount(t *testing.T) {
	t.Parallel()
	for _, store := range []StateStore{nil, &MemoryStateStore{}} {
		w := newWebApp(t, store)
		alice, bobs := w.browser(t), w.browser(t)
		_, start, page := w.signIn(t, alice, "return_to=/inbox")
		if page != "hello alice@contoso.example" {
			t.Fatalf("alice's page: %q", page)
		}
		if store == nil {
			c := start.Cookies()
			if len(c) != 1 || !c[0].HttpOnly || !c[0].Secure || c[0].SameSite != http.SameSiteLaxMode || c[0].Path != "/auth/callback" ||
				strings.Contains(c[0].Value, "state") {
				t.Errorf("the state cookie: %+v", c)
			}
		}
		if _, _, page := w.signIn(t, bobs, "login_hint="+url.QueryEscape(bob.Username)+"&return_to=//evil.example/x"); page != "hello bob@contoso.example" {
			t.Fatalf("bob's page: %q", page)
		}
		if len(w.signedIn) != 2 || w.signedIn[0].Account.HomeAccountID == w.signedIn[1].Account.HomeAccountID {
			t.Fatalf("sign-ins: %+v", w.signedIn)
		}
		if w.returns[0] != "/inbox" || w.returns[1] != "" {
			t.Errorf("return_to: %q (an off-site one must be dropped)", w.returns)
		}
		// Later requests of each user: a credential from the shared cache, their own tokens.
		for _, res := range w.signedIn {
			cred, err := credential.NewFromCache(w.srv.TenantID(), testClient, res.Account.HomeAccountID,
				&credential.RefreshTokenOptions{Cache: w.tokens, AuthorityHost: w.srv.URL(), HTTPClient: w.srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{graph}})
			if err != nil || tok.Token != res.Token.Token {
				t.Errorf("%s's later token: %v", res.Account.Username, err)
			}
		}
	}
}

func TestWebAppRefusesReplayedForgedAndMissingStates(t *testing.T) {
	t.Parallel()
	for _, store := range []StateStore{nil, &MemoryStateStore{}} {
		w := newWebApp(t, store)
		b := w.browser(t)
		resp, _ := b.Get(w.app.URL + "/auth/start")
		resp.Body.Close()
		callback := authorize(t, w.srv, resp.Header.Get("Location"))
		q := callback.Query()
		try := func(query url.Values, client *http.Client) (int, string) {
			u := *callback
			u.RawQuery = query.Encode()
			r, err := client.Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(r.Body)
			r.Body.Close()
			return r.StatusCode, string(body)
		}
		forged := url.Values{"code": q["code"], "state": {"forged"}}
		if status, page := try(forged, b); status != http.StatusBadRequest || !strings.Contains(page, "does not belong") {
			t.Errorf("forged state: %d %q", status, page)
		}
		if status, _ := try(url.Values{"code": q["code"]}, b); status != http.StatusBadRequest {
			t.Errorf("missing state: %d", status)
		}
		if status, _ := try(q, w.browser(t)); status != http.StatusBadRequest {
			t.Errorf("another browser (no cookie) with the right state: %d", status)
		}
		// Each refusal changed nothing: the real callback still works, once.
		if status, page := try(q, b); status != http.StatusOK || !strings.HasPrefix(page, "hello ") {
			t.Fatalf("the real callback: %d %q", status, page)
		}
		if status, _ := try(q, b); status != http.StatusBadRequest || len(w.signedIn) != 1 {
			t.Errorf("a replay: %d, %d sign-ins", status, len(w.signedIn))
		}
	}
}

func TestWebAppEscapesEntrasRefusal(t *testing.T) {
	t.Parallel()
	w := newWebApp(t, nil)
	b := w.browser(t)
	resp, _ := b.Get(w.app.URL + "/auth/start")
	resp.Body.Close()
	callback := authorize(t, w.srv, resp.Header.Get("Location"))
	u := *callback
	u.RawQuery = url.Values{"state": {callback.Query().Get("state")}, "error": {"access_denied"}, "error_description": {`<img src=x onerror=alert(1)>`}}.Encode()
	r, err := b.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if strings.Contains(string(body), "<img") || r.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("the refusal is reflected unescaped: %s", body)
	}
}

func TestWebAppOptionsAreValidated(t *testing.T) {
	t.Parallel()
	cfg := Config{ClientID: testClient}
	ok := func(http.ResponseWriter, *http.Request, *Result, string) {}
	for name, o := range map[string]WebAppOptions{
		"no key or store":       {RedirectURI: "https://app/cb", OnSignIn: ok},
		"a short key":           {RedirectURI: "https://app/cb", OnSignIn: ok, CookieKey: []byte("short")},
		"no OnSignIn":           {RedirectURI: "https://app/cb", CookieKey: make([]byte, 32)},
		"an http redirect URI":  {RedirectURI: "http://app.example/cb", OnSignIn: ok, CookieKey: make([]byte, 32)},
		"a relative redirect":   {RedirectURI: "/cb", OnSignIn: ok, CookieKey: make([]byte, 32)},
		"an empty redirect URI": {OnSignIn: ok, CookieKey: make([]byte, 32)},
	} {
		if _, err := NewWebApp(cfg, o); !errors.Is(err, credential.ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A MemoryStateStore stays bounded whatever visitors do: past MaxEntries sign-ins in progress a
// new one is refused, expired ones make room, and finished ones are gone.
func TestMemoryStateStoreIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &MemoryStateStore{MaxEntries: 3}
	for i := range 3 {
		if err := s.Put(ctx, fmt.Sprint("live", i), []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "one too many", []byte("v"), time.Hour); !errors.Is(err, ErrTooManySignIns) {
		t.Fatalf("a fourth sign-in: %v, want ErrTooManySignIns", err)
	}
	if _, err := s.Take(ctx, "live0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "after a finish", []byte("v"), time.Hour); err != nil {
		t.Errorf("a finished sign-in did not make room: %v", err)
	}
	expiring := &MemoryStateStore{MaxEntries: 2000}
	for i := range 2000 {
		_ = expiring.Put(ctx, fmt.Sprint("gone", i), []byte("v"), -time.Second) // already expired
	}
	if err := expiring.Put(ctx, "new", []byte("v"), time.Hour); err != nil {
		t.Errorf("expired sign-ins did not make room: %v", err)
	}
	if n := len(expiring.m); n > 1025 {
		t.Errorf("%d entries kept; expired ones are not swept", n)
	}
}
