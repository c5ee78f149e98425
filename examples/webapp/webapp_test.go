package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/testkit"
	"github.com/entrakit/entrakit/redisstore"
	"github.com/entrakit/entrakit/redisstore/redistest"
)

// browser is one browser profile (its own cookies): each visit runs headless Chromium on it,
// follows the redirects, and returns the final page.
type browser struct {
	t       *testing.T
	path    string
	profile string
}

func (b *browser) visit(url string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+b.profile, "--ignore-certificate-errors", "--dump-dom", url)
	var dom, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = &dom, &stderr, testkit.ProcAttr()
	if err := cmd.Run(); err != nil {
		b.t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return dom.String()
}

// The whole app, signed in by a real browser: two users in two browsers each see only their own
// notes, a restart keeps both signed in, and a sign-out removes the account's tokens; with the
// users' tokens in a directory, and in Redis.
func TestTwoUsersSignInWithARealBrowser(t *testing.T) {
	for _, store := range []string{"directory", "redis"} {
		t.Run(store, func(t *testing.T) { twoUsers(t, store) })
	}
}

func twoUsers(t *testing.T, store string) {
	path := testkit.Chromium(t)
	fake := entratest.NewServer(nil)
	defer fake.Close()
	bob := entratest.User{ObjectID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", Username: "bob@contoso.example", Name: "Bob"}
	fake.AddUser(bob)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, fake.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WEBAPP_COOKIE_KEY", "Y29va2llLWtleS1vZi10aGUtd2ViYXBwLXRlc3QhISE=")
	t.Setenv("WEBAPP_CACHE_KEY", "Y2FjaGUta2V5LW9mLXRoZS13ZWJhcHAtdGVzdCEhISE=")
	args := []string{"--listen", "127.0.0.1:0", "--authority", fake.URL(), "--tenant", fake.TenantID(), "--client-id", "webapp-client",
		"--cookie-key-env", "WEBAPP_COOKIE_KEY", "--cache-key-env", "WEBAPP_CACHE_KEY", "--ca-file", ca}
	var sealed cache.Store
	if store == "redis" {
		rs := redistest.Start(t)
		args = append(args, "--redis", rs.Addr())
		sealed, _ = redisstore.New(rs.Client(t), &redisstore.Options{Keys: []cache.KeySource{cache.KeyFromEnv("WEBAPP_CACHE_KEY")}})
	} else {
		tokens := filepath.Join(dir, "tokens")
		args = append(args, "--cache", tokens)
		fs, _ := cache.NewFileStore(tokens)
		sealed, _ = cache.NewEncryptedStore(fs, &cache.EncryptionOptions{Keys: []cache.KeySource{cache.KeyFromEnv("WEBAPP_CACHE_KEY")}})
	}
	start := func() (addr string, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		ready, done := make(chan string, 1), make(chan error, 1)
		go func() { done <- run(ctx, args, os.Stderr, ready) }()
		select {
		case addr = <-ready:
		case err := <-done:
			t.Fatalf("the app did not start: %v", err)
		}
		return "http://" + addr, func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	alice, bobs := &browser{t, path, filepath.Join(dir, "alice")}, &browser{t, path, filepath.Join(dir, "bob")}

	app, stop := start()
	page := alice.visit(app + "/signin")
	if !strings.Contains(page, "Notes of alice@contoso.example") || !strings.Contains(page, "Welcome, alice@contoso.example") || strings.Contains(page, "bob") {
		t.Fatalf("alice's page: %s", page)
	}
	page = bobs.visit(app + "/signin?login_hint=bob@contoso.example")
	if !strings.Contains(page, "Notes of bob@contoso.example") || strings.Contains(page, "alice") {
		t.Fatalf("bob's page: %s", page)
	}
	stop()

	// A restart: both are still signed in (sealed session cookies, tokens in the sealed cache).
	app, stop = start()
	defer stop()
	before := fake.TokenRequests()
	if page := alice.visit(app + "/"); !strings.Contains(page, "Notes of alice@contoso.example") {
		t.Errorf("alice after the restart: %s", page)
	}
	if page := bobs.visit(app + "/"); !strings.Contains(page, "Notes of bob@contoso.example") {
		t.Errorf("bob after the restart: %s", page)
	}
	if n := fake.TokenRequests() - before; n != 0 {
		t.Errorf("%d token requests after the restart; the cached tokens should serve", n)
	}

	// Alice signs out: her tokens leave the cache; bob stays.
	if page := alice.visit(app + "/signout"); !strings.Contains(page, "Not signed in") {
		t.Errorf("after the sign-out: %s", page)
	}
	c, _ := cache.New(&cache.Options{Store: sealed})
	if accounts := c.Accounts(); len(accounts) != 1 || accounts[0].Username != "bob@contoso.example" {
		t.Errorf("accounts after alice signed out: %v", accounts)
	}
	if page := bobs.visit(app + "/"); !strings.Contains(page, "Notes of bob@contoso.example") {
		t.Errorf("bob after alice signed out: %s", page)
	}
}
