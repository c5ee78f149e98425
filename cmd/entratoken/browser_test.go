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

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/testkit"
)

// TestLoginWithARealBrowser: headless Chromium opens the URL that "entratoken login
// --no-browser" prints, the fake Entra's authorize page redirects it to the loopback listener,
// and the command redeems the code and prints a token.
func TestLoginWithARealBrowser(t *testing.T) {
	browser := testkit.Chromium(t)
	srv := entratest.NewServer(&entratest.Options{RequirePKCE: true})
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	signIn, stdout, done := startLogin(t, "--no-browser", "--authority", srv.URL(), "--ca-file", ca,
		"--tenant", srv.TenantID(), "--scope", "https://graph.microsoft.com/.default", "--timeout", "60s")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--ignore-certificate-errors", // the fake's certificate is self-signed
		"--dump-dom", signIn)
	var dom, browserErr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = &dom, &browserErr, testkit.ProcAttr()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, browserErr.String())
	}
	if !strings.Contains(dom.String(), "Signed in") {
		t.Errorf("the browser ended on %q", dom.String())
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("login exited %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("login did not finish after the browser's redirect")
	}
	out := decodeAll(t, stdout.Bytes())
	if len(out) != 1 || out[0]["token_type"] != "Bearer" {
		t.Errorf("login printed %s", stdout.String())
	}
	var authorized bool
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, "/authorize") && strings.Contains(r.Header.Get("User-Agent"), "Chrome") {
			authorized = true
		}
	}
	if !authorized {
		t.Error("the fake saw no authorize request from the browser")
	}
}
