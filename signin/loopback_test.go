package signin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoopbackSignsInAndReportsTheAccount(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	cfg := testConfig(srv)
	var wrongPage string
	b := &fakeBrowser{t: t, srv: srv, before: func(callback *url.URL) bool {
		// Another local user's request, with the callback's path but not its state: refused,
		// and the sign-in goes on.
		forged := *callback
		forged.RawQuery = url.Values{"code": {"attacker-code"}, "state": {"guessed"}}.Encode()
		resp, err := http.Get(forged.String())
		if err != nil {
			t.Error(err)
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a forged callback: status %d", resp.StatusCode)
		}
		wrongPage = string(body)
		return true
	}}
	res, err := cfg.Loopback(context.Background(), &LoopbackOptions{OpenBrowser: b.open, RequestOptions: RequestOptions{LoginHint: bob.Username}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.Username != bob.Username || res.Account.TenantID != srv.TenantID() {
		t.Errorf("signed in as %+v", res.Account)
	}
	if !strings.Contains(wrongPage, "does not belong to the sign-in in progress") {
		t.Errorf("the forged callback's page: %q", wrongPage)
	}
	// The browser got a private file's URL, never the authorize URL (its state, challenge and
	// port would be on its command line for every local user to read).
	if len(b.opened) != 1 || strings.Contains(b.opened[0], "state=") || strings.Contains(b.opened[0], "code_challenge") {
		t.Errorf("the browser was given %q", b.opened)
	}
	if b.mode != 0o600|0o700<<9 {
		t.Errorf("the start file and its directory: %o, want 600 in 700", b.mode)
	}
	for _, r := range srv.Requests() {
		if f := r.Form; strings.HasSuffix(r.Path, "/token") && (f.Get("code") == "attacker-code" || !strings.HasPrefix(f.Get("redirect_uri"), "http://127.0.0.1:")) {
			t.Errorf("a token request %v", f)
		}
	}
}

func TestLoopbackRandomPathTimeoutAndCancellation(t *testing.T) {
	t.Parallel()
	srv := newFake(t)
	cfg := testConfig(srv)
	t.Run("a random path", func(t *testing.T) {
		b := &fakeBrowser{t: t, srv: srv}
		res, err := cfg.Loopback(context.Background(), &LoopbackOptions{OpenBrowser: b.open, RandomPath: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Account.Username == "" {
			t.Error("no account")
		}
		var redirect string
		for _, r := range srv.Requests() {
			if strings.HasSuffix(r.Path, "/token") {
				redirect = r.Form.Get("redirect_uri")
			}
		}
		if u, _ := url.Parse(redirect); len(u.Path) < 20 {
			t.Errorf("redirect URI %q has no random path", redirect)
		}
	})
	nobody := func(string) error { return nil } // a browser the user never looks at
	t.Run("a timeout says so", func(t *testing.T) {
		_, err := cfg.Loopback(context.Background(), &LoopbackOptions{OpenBrowser: nobody, Timeout: 20 * time.Millisecond})
		if !errors.Is(err, ErrTimeout) || errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want ErrTimeout", err)
		}
	})
	t.Run("Ctrl-C says cancelled, not timed out", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		opened := make(chan struct{})
		go func() { <-opened; cancel() }()
		_, err := cfg.Loopback(ctx, &LoopbackOptions{OpenBrowser: func(string) error { close(opened); return nil }})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "cancelled") {
			t.Errorf("err = %v, want a cancellation", err)
		}
	})
	t.Run("no browser prints the URL; a browser that fails prints a hint", func(t *testing.T) {
		for _, o := range []*LoopbackOptions{{NoBrowser: true}, {OpenBrowser: func(string) error { return errors.New("xdg-open: not found") }}} {
			var out bytes.Buffer
			o.Out, o.Timeout = &out, 20*time.Millisecond
			_, _ = cfg.Loopback(context.Background(), o)
			if !strings.Contains(out.String(), srv.AuthorizeURL(srv.TenantID())) {
				t.Errorf("printed %q", out.String())
			}
			if o.OpenBrowser != nil && !strings.Contains(out.String(), "No browser could be opened (xdg-open: not found)") {
				t.Errorf("no hint: %q", out.String())
			}
		}
	})
	t.Run("a refusal is reported, escaped", func(t *testing.T) {
		b := &fakeBrowser{t: t, srv: srv}
		pages := make(chan string, 1)
		b.before = func(callback *url.URL) bool {
			q := callback.Query()
			refused := *callback
			refused.RawQuery = url.Values{"state": {q.Get("state")}, "error": {"access_denied"},
				"error_description": {`<script>alert(1)</script> declined`}}.Encode()
			resp, err := http.Get(refused.String())
			if err != nil {
				pages <- err.Error()
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pages <- string(body)
			return false // the refusal ended the sign-in
		}
		_, err := cfg.Loopback(context.Background(), &LoopbackOptions{OpenBrowser: b.open})
		var ae *AuthorizeError
		if !errors.As(err, &ae) || ae.Code != "access_denied" {
			t.Errorf("err = %v", err)
		}
		page := <-pages
		if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("the error page reflects the description unescaped: %s", page)
		}
	})
}
