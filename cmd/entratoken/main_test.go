package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/testkit"
)

func decodeAll(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("output is not a JSON stream: %v\n%s", err, b)
		}
		out = append(out, m)
	}
	return out
}

// startLogin runs "entratoken login" with args in the background and returns the sign-in URL it
// prints, its stdout, and a channel with its exit status.
func startLogin(t *testing.T, args ...string) (signIn string, stdout *bytes.Buffer, done chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	stdout = &bytes.Buffer{}
	done = make(chan int, 1)
	go func() {
		done <- run(context.Background(), append([]string{"login"}, args...), stdout, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "https://") {
			signIn = sc.Text()
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if signIn == "" {
		t.Fatal("login printed no sign-in URL")
	}
	return signIn, stdout, done
}

func TestDemo(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	steps := decodeAll(t, stdout.Bytes())
	if len(steps) != 7 {
		t.Fatalf("%d steps, want 7:\n%s", len(steps), stdout.String())
	}
	if steps[4]["step"] != "replayed code" || steps[4]["error"] != "invalid_grant" || fmt.Sprint(steps[4]["error_codes"]) != "[54005]" {
		t.Errorf("replayed code step = %v", steps[4])
	}
	if steps[5]["step"] != "claims challenge" || fmt.Sprint(steps[5]["error_codes"]) != "[50076]" || steps[5]["claims"] == "" {
		t.Errorf("claims challenge step = %v", steps[5])
	}
	if steps[6]["step"] != "challenge answered" || steps[6]["source"] != "network" {
		t.Errorf("challenge answered step = %v", steps[6])
	}
	want := []struct {
		step, source, grant string
		requests            float64
	}{
		{"redeem code", "network", "authorization_code", 1},
		{"cached call", "cache", "", 1},
		{"refresh", "network", "refresh_token", 2},
	}
	if steps[0]["step"] != "authorize" || steps[0]["state_matches"] != true {
		t.Errorf("authorize step = %v", steps[0])
	}
	for i, w := range want {
		s := steps[i+1]
		if s["step"] != w.step || s["source"] != w.source || (w.grant != "" && s["grant"] != w.grant) || s["token_requests"] != w.requests {
			t.Errorf("step %d = %v, want %+v", i+1, s, w)
		}
		if _, ok := s["access_token"]; ok {
			t.Errorf("step %d prints the access token without --show-token", i+1)
		}
		if s["token_type"] != "Bearer" || s["expires_on"] == "" {
			t.Errorf("step %d = %v", i+1, s)
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"demo", "--show-token", "--scope", "https://vault.azure.net/.default"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	steps = decodeAll(t, stdout.Bytes())
	if tok, _ := steps[1]["access_token"].(string); strings.Count(tok, ".") != 2 {
		t.Errorf("--show-token printed %q", tok)
	}
}

func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "demo") || !strings.Contains(stdout.String(), "login") || !strings.Contains(stdout.String(), "vscode") {
		t.Errorf("--help: exit %d, %q", code, stdout.String())
	}
	if code := run(context.Background(), []string{"nope"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("unknown command: exit %d", code)
	}
	if code := run(context.Background(), nil, &stdout, &stderr); code != 2 {
		t.Errorf("no command: exit %d", code)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"demo", "--bogus"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
	if code := run(context.Background(), []string{"login", "--client-secret-env", "ENTRATOKEN_TEST_UNSET_VAR"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "ENTRATOKEN_TEST_UNSET_VAR") {
		t.Errorf("unset secret variable: exit %d, %q", code, stderr.String())
	}
}

// TestLoginAgainstTheFake drives "entratoken login --no-browser" as a browser would: it opens
// the printed URL, follows the fake's redirect to the loopback listener, and expects a token.
func TestLoginAgainstTheFake(t *testing.T) {
	srv := entratest.NewServer(&entratest.Options{RequirePKCE: true})
	defer srv.Close()
	srv.AddClient(entratest.Client{ID: "conf-app", Secret: "from-the-env"})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENTRATOKEN_TEST_SECRET", "from-the-env")
	t.Setenv("ENTRATOKEN_TEST_CACHE_KEY", testCacheKey)
	cacheFile := filepath.Join(t.TempDir(), "tokens")
	signIn, stdout, done := startLogin(t, "--no-browser", "--authority", srv.URL(), "--ca-file", ca,
		"--tenant", srv.TenantID(), "--client-id", "conf-app", "--client-secret-env", "ENTRATOKEN_TEST_SECRET",
		"--scope", "https://graph.microsoft.com/.default", "--timeout", "20s", "--cache", cacheFile, "--cache-key-env", "ENTRATOKEN_TEST_CACHE_KEY")
	browser := srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(signIn)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	u, _ := url.Parse(loc)
	if resp.StatusCode != http.StatusFound || u.Hostname() != "127.0.0.1" {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, loc)
	}
	page, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), "Signed in") {
		t.Errorf("success page: %d %q", page.StatusCode, body)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("login exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("login did not finish")
	}
	out := decodeAll(t, stdout.Bytes())
	if len(out) != 1 || out[0]["token_type"] != "Bearer" || out[0]["access_token"] != nil {
		t.Errorf("output = %s", stdout.String())
	}
	forms := srv.Requests()
	last := forms[len(forms)-1]
	if last.Form.Get("client_secret") != "from-the-env" || last.Form.Get("code_verifier") == "" || !strings.HasPrefix(last.Form.Get("redirect_uri"), "http://127.0.0.1:") {
		t.Errorf("token request form = %v", last.Form)
	}

	// A second run with the same cache file needs no sign-in: no URL, no authorize request.
	before := len(srv.Requests())
	var out2, err2 bytes.Buffer
	code := run(context.Background(), []string{"login", "--no-browser", "--authority", srv.URL(), "--ca-file", ca,
		"--tenant", srv.TenantID(), "--client-id", "conf-app", "--client-secret-env", "ENTRATOKEN_TEST_SECRET",
		"--scope", "https://vault.azure.net/.default", "--timeout", "2s", "--cache", cacheFile, "--cache-key-env", "ENTRATOKEN_TEST_CACHE_KEY"}, &out2, &err2)
	if code != 0 || strings.Contains(err2.String(), "Sign in at") {
		t.Fatalf("second run: exit %d, stderr %q", code, err2.String())
	}
	after := srv.Requests()[before:]
	if len(after) != 1 || after[0].Form.Get("grant_type") != "refresh_token" {
		t.Errorf("second run made %d requests; want one refresh with the cached token", len(after))
	}
	if out := decodeAll(t, out2.Bytes()); len(out) != 1 || out[0]["token_type"] != "Bearer" {
		t.Errorf("second run printed %s", out2.String())
	}
}

// testCacheKey is base64 of 32 bytes, for --cache-key-env.
const testCacheKey = "dGhlLWtleS1vZi1lbnRyYXRva2VuLXRlc3RzLTMyYnk="

func TestDemoReusesItsCache(t *testing.T) {
	t.Setenv("ENTRATOKEN_TEST_CACHE_KEY", testCacheKey)
	dir := filepath.Join(t.TempDir(), "demo")
	var first, second, stderr bytes.Buffer
	args := []string{"demo", "--cache", dir, "--cache-key-env", "ENTRATOKEN_TEST_CACHE_KEY"}
	if code := run(context.Background(), args, &first, &stderr); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), args, &second, &stderr); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	out := decodeAll(t, second.Bytes())
	if len(out) != 1 || out[0]["source"] != "cache" || out[0]["token_requests"] != float64(0) {
		t.Errorf("second run = %s; want one token from the cache with no request", second.String())
	}
	if !strings.Contains(stderr.String(), "sealed with a key") || !strings.Contains(stderr.String(), "ENTRATOKEN_TEST_CACHE_KEY") {
		t.Errorf("stderr does not say which key sealed the tokens: %s", stderr.String())
	}
	// Sealed: the tokens are not readable in the files.
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if b, _ := os.ReadFile(f); len(files) != 1 || bytes.Contains(b, []byte("refresh_token")) || bytes.Contains(b, []byte("eyJ")) {
			t.Errorf("%s is not sealed", f)
		}
	}
}

// Without --cache-key-env, the key comes from the OS keyring: a real gnome-keyring here.
func TestDemoCacheKeyFromTheOSKeyring(t *testing.T) {
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	dir := filepath.Join(t.TempDir(), "demo")
	var out, stderr bytes.Buffer
	for range 2 {
		if code := run(context.Background(), []string{"demo", "--cache", dir}, &out, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "the OS keyring") || strings.Contains(stderr.String(), "unavailable") {
		t.Errorf("stderr = %s", stderr.String())
	}
	if last := decodeAll(t, out.Bytes()); last[len(last)-1]["source"] != "cache" {
		t.Errorf("the second run did not reuse the cache: %s", out.String())
	}
}

// A request to the listener with a forged state is refused, and does not end the sign-in.
func TestLoginRefusesAForgedStateAndGoesOn(t *testing.T) {
	t.Parallel()
	srv := entratest.NewServer(nil)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	signIn, stdout, done := startLogin(t, "--no-browser", "--timeout", "20s", "--authority", srv.URL(), "--ca-file", ca, "--tenant", srv.TenantID())
	u, _ := url.Parse(signIn)
	redirect := u.Query().Get("redirect_uri")
	resp, err := http.Get(redirect + "?code=stolen&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged state: page %d", resp.StatusCode)
	}
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r, err := browser.Get(signIn)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	back, err := http.Get(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	if code := <-done; code != 0 || !strings.Contains(stdout.String(), "Bearer") {
		t.Errorf("after the forged request the real sign-in: exit %d, %s", code, stdout.String())
	}
}

// TestLoginOpensTheSystemBrowser puts a stand-in xdg-open on PATH, which records what it was
// given: the URL of a private file (never the authorize URL, whose state and challenge would be
// on a command line every local user can read), which it then follows like a browser.
func TestLoginOpensTheSystemBrowser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the stand-in is an xdg-open shell script")
	}
	srv := entratest.NewServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	ca, opened := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "opened")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// The stand-in copies the page it is given before login removes it, and says it is done
	// with a FIFO: no polling.
	ready := filepath.Join(dir, "ready")
	if err := syscallMkfifo(ready); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf '%s' \"$1\" > " + opened + "\ncp \"${1#file://}\" " + opened + ".html\necho done > " + ready + "\n"
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	stdout := &bytes.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"login", "--authority", srv.URL(), "--ca-file", ca, "--tenant", srv.TenantID(), "--timeout", "20s"}, stdout, io.Discard)
	}()
	if _, err := os.ReadFile(ready); err != nil { // blocks until the stand-in ran
		t.Fatal(err)
	}
	got, _ := os.ReadFile(opened)
	if !strings.HasPrefix(string(got), "file:///") || strings.Contains(string(got), "state") {
		t.Fatalf("xdg-open got %q, want a private file's URL", got)
	}
	page, _ := os.ReadFile(opened + ".html")
	m := regexp.MustCompile(`url=([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("the page redirects nowhere: %s", page)
	}
	// Play the browser: follow the page's redirect to the fake, and the fake's to the listener.
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := http.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	if code := <-done; code != 0 || !strings.Contains(stdout.String(), "Bearer") || !strings.Contains(stdout.String(), "alice@contoso.example") {
		t.Errorf("exit %d, output %s", code, stdout.String())
	}
}

// Arguments are checked before anything happens, and errors name the flag as the user typed it.
func TestFlagErrorsNameTheFlag(t *testing.T) {
	opened := false
	saved := openBrowser
	openBrowser = func(string) error { opened = true; return nil }
	t.Cleanup(func() { openBrowser = saved })
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"login", "--authority", "http://login.example"}, "--authority: "},
		{[]string{"login", "--tenant", "contoso/../evil"}, "--tenant: "},
		{[]string{"login", "--scope", "two words"}, "--scope: "},
		{[]string{"login", "--timeout", "0s"}, "--timeout 0s"},
		{[]string{"vscode", "--settings", "/no/such/settings.json"}, "--settings: "},
		{[]string{"vscode", "--tenant", "a..b"}, "--tenant: "},
		{[]string{"demo", "--cache-key-env", "X"}, "--cache-key-env needs --cache"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want one line with %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	if opened {
		t.Error("a browser was opened for arguments that can never work")
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &stdout, io.Discard); code != 0 || !strings.HasPrefix(stdout.String(), "entratoken 0.") {
		t.Errorf("--version: %d %q", code, stdout.String())
	}
	stdout.Reset()
	run(context.Background(), []string{"--help"}, &stdout, io.Discard)
	if strings.Contains(stdout.String(), "print a token\n") || !strings.Contains(stdout.String(), "--show-token") {
		t.Errorf("help promises a token it prints only with --show-token: %s", stdout.String())
	}
}
