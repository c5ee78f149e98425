package credential

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/cachecore"
)

const helperEnv = "ENTRAKIT_CREDENTIAL_HELPER"

// refreshTokenOnDisk reads an account's refresh token as a new process would: through a new
// cache on the same directory, with a credential's transaction.
func refreshTokenOnDisk(t *testing.T, dir, env, account string) string {
	t.Helper()
	c := fileCache(t, dir)
	p := cachecore.Of(c).Partition(cachecore.PartitionID{Environment: env, ClientID: testClient, HomeAccountID: account})
	var rt string
	if err := p.Update(context.Background(), func(tx *cachecore.Tx) error { rt = tx.RefreshToken(); return nil }); err != nil {
		t.Fatal(err)
	}
	return rt
}

func fileCache(t *testing.T, path string) *cache.Cache {
	t.Helper()
	st, err := cache.NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(&cache.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRotationAndEvictionArePersistedBeforeGetTokenReturns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	path := filepath.Join(t.TempDir(), "cache.json")
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, path) })
	get(t, c, scopes(graph))
	get(t, c, scopes(vault)) // a refresh: the rotated token must be on disk now
	onDisk := func() (string, bool) {
		rt := refreshTokenOnDisk(t, path, f.srv.Host(), c.e.boundAccount())
		return rt, rt != ""
	}
	rt, ok := onDisk()
	if !ok {
		t.Fatal("no refresh token on disk")
	}
	// The file's token is the newest: the fake (strict) accepts it exactly once.
	other, err := NewFromCache(f.srv.TenantID(), testClient, c.e.boundAccount(), &RefreshTokenOptions{
		Cache: fileCache(t, path), AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	get(t, other, scopes("https://storage.azure.com/.default"))
	if f.lastForm().Get("refresh_token") != rt {
		t.Error("the process reading the file did not use the rotated token")
	}
	f.srv.RevokeRefreshTokens()
	if _, err := other.GetToken(context.Background(), scopes("https://management.azure.com/.default")); err == nil {
		t.Fatal("want invalid_grant")
	}
	if _, ok := onDisk(); ok {
		t.Error("the invalid_grant eviction was not persisted")
	}
}

func TestNewFromCacheValidation(t *testing.T) {
	t.Parallel()
	if _, err := NewFromCache("t", testClient, "u.t", nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no cache: %v", err)
	}
	c, _ := cache.New(nil)
	if _, err := NewFromCache("t", testClient, "", &RefreshTokenOptions{Cache: c}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("no account: %v", err)
	}
	cred, err := NewFromCache("t", testClient, "u.t", &RefreshTokenOptions{Cache: c, AuthorityHost: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), scopes(graph))
	if err == nil || !strings.Contains(err.Error(), "no authorization code, cached access token, or refresh token available") {
		t.Errorf("empty cache: %v", err)
	}
}

// helperCredential is the credential of a helper process: the account H_ACCOUNT from the cache
// directory H_CACHE, against the fake at H_URL (whose certificate is H_CA).
func helperCredential() (*RefreshToken, error) {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(os.Getenv("H_CA"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("bad CA")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	st, err := cache.NewFileStore(os.Getenv("H_CACHE"))
	if err != nil {
		return nil, err
	}
	c, _ := cache.New(&cache.Options{Store: st})
	return NewFromCache(os.Getenv("H_TENANT"), testClient, os.Getenv("H_ACCOUNT"), &RefreshTokenOptions{Cache: c, AuthorityHost: os.Getenv("H_URL"), HTTPClient: hc})
}

// holderHelper keeps a credential for an account of a shared cache and, for each line "refresh"
// on stdin, asks for a token with claims (a refresh) and prints "ok" or the error.
func holderHelper() int {
	cred, err := helperCredential()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	in := bufio.NewScanner(os.Stdin)
	for i := 0; in.Scan(); i++ {
		claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, i)
		if _, err := cred.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, Claims: claims}); err != nil {
			fmt.Println("error:", err)
		} else {
			fmt.Println("ok")
		}
	}
	return 0
}

// Sign-out through a cache directory shared by two processes: the other process's next
// request finds the account gone, and never writes it back; the other account stays.
func TestRemoveAccountSignsOutEveryProcessSharingTheStore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	f.srv.AddUser(bob)
	dir := t.TempDir()
	path, ca := filepath.Join(dir, "tokens"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, f.srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	alice := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, path) })
	b := f.cred(bob, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, path) })
	get(t, alice, scopes(graph))
	get(t, b, scopes(graph))
	aliceID, bobID := alice.e.boundAccount(), b.e.boundAccount()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=holder", "H_CA="+ca, "H_CACHE="+path, "H_URL="+f.srv.URL(),
		"H_TENANT="+f.srv.TenantID(), "H_ACCOUNT="+aliceID)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	replies := bufio.NewScanner(stdout)
	refresh := func() string {
		fmt.Fprintln(stdin, "refresh")
		if !replies.Scan() {
			t.Fatal("the helper process ended")
		}
		return replies.Text()
	}
	if got := refresh(); got != "ok" {
		t.Fatalf("the other process, before sign-out: %s", got)
	}

	if err := fileCache(t, path).RemoveAccount(context.Background(), aliceID); err != nil {
		t.Fatal(err)
	}
	before := f.srv.TokenRequests()
	if got := refresh(); !strings.Contains(got, "no authorization code, cached access token, or refresh token available") {
		t.Errorf("the other process after sign-out: %s", got)
	}
	if n := f.srv.TokenRequests() - before; n != 0 {
		t.Errorf("the other process sent %d token requests for a signed-out account", n)
	}
	accounts := fileCache(t, path).Accounts()
	if len(accounts) != 1 || accounts[0].HomeAccountID != bobID {
		t.Errorf("accounts after alice signed out: %v", accounts)
	}
	if rt := refreshTokenOnDisk(t, path, f.srv.Host(), aliceID); rt != "" {
		t.Error("alice's refresh token came back")
	}
	other, err := NewFromCache(f.srv.TenantID(), testClient, bobID, &RefreshTokenOptions{Cache: fileCache(t, path), AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, Claims: challengeClaims}); err != nil {
		t.Errorf("bob, still signed in: %v", err)
	}
}

// refresherHelper is one process of TestTwoProcessesShareOneCacheFile: N requests with claims
// (so each goes to the network, as a refresh) through the shared cache file.
func refresherHelper() int {
	cred, err := helperCredential()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	n, _ := strconv.Atoi(os.Getenv("H_N"))
	failures := 0
	for i := range n {
		claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, i)
		if _, err := cred.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, Claims: claims}); err != nil {
			failures++
			fmt.Fprintln(os.Stderr, "helper:", err)
		}
	}
	if failures > 0 {
		return 1
	}
	return 0
}

func TestTwoProcessesShareOneCacheFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two processes of 50 refreshes")
	}
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	dir := t.TempDir()
	path, ca := filepath.Join(dir, "cache.json"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, f.srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, path); o.Now = nil })
	get(t, seed, scopes(graph))
	account := seed.e.boundAccount()

	const perProcess = 50
	var wg sync.WaitGroup
	outputs := make([][]byte, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=refresher", "H_CA="+ca, "H_CACHE="+path, "H_URL="+f.srv.URL(),
				"H_TENANT="+f.srv.TenantID(), "H_ACCOUNT="+account, "H_N="+strconv.Itoa(perProcess))
			outputs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Errorf("process %d: %v\n%s", i, errs[i], outputs[i])
		}
	}
	refreshes, refused := 0, 0
	for _, r := range f.srv.Requests() {
		if r.Form.Get("grant_type") == "refresh_token" {
			refreshes++
			if r.Status != http.StatusOK {
				refused++
			}
		}
	}
	if refreshes != 2*perProcess || refused != 0 {
		t.Errorf("%d refreshes with %d refused; want %d and 0", refreshes, refused, 2*perProcess)
	}
	if refreshTokenOnDisk(t, path, f.srv.Host(), account) == "" {
		t.Error("the final file holds no refresh token")
	}
}

// A sign-out in another process sharing the store ends this process's use of the account's
// cached access tokens within the cache's Recheck (30 s): memory answers alone only that long,
// and neither a token memory would serve nor one a failed refresh would fall back on outlives it.
func TestASignOutElsewhereEndsCachedTokensWithinTheRecheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		later time.Duration
	}{
		{"a token memory would serve", 35 * time.Second},
		{"a token due for refresh", 56 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			path := filepath.Join(t.TempDir(), "tokens")
			here, elsewhere := fileCache(t, path), fileCache(t, path) // two processes' caches
			c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = here })
			first := get(t, c, scopes(graph))
			get(t, c, scopes(graph)) // memory, now checked against the store
			if err := elsewhere.RemoveAccount(context.Background(), c.e.boundAccount()); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(10 * time.Second)
			if again := get(t, c, scopes(graph)); again.Token != first.Token {
				t.Fatal("within the Recheck, memory should still answer")
			}
			before := f.srv.TokenRequests()
			f.clock.Advance(tc.later)
			_, err := c.GetToken(context.Background(), scopes(graph))
			if err == nil || !strings.Contains(err.Error(), "no authorization code, cached access token, or refresh token available") {
				t.Errorf("after the Recheck: %v; want the signed-out account's tokens gone", err)
			}
			if n := f.srv.TokenRequests() - before; n != 0 {
				t.Errorf("%d token requests for a signed-out account", n)
			}
		})
	}
}
