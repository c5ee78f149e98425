package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/testkit"
	"github.com/entrakit/entrakit/vscode"
)

func TestVSCodeCommandWithARealKeyring(t *testing.T) {
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	srv := entratest.NewServer(nil)
	defer srv.Close()
	rt := srv.IssueRefreshToken(vscode.ClientID, entratest.User{})
	bus.StoreLikeKeytar(t, vscode.CredentialsName, "AzureCloud", rt)
	dir := t.TempDir()
	settings, ca := filepath.Join(dir, "settings.json"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(settings, []byte(`{"azure.tenant": "`+srv.TenantID()+`", /* JSONC */}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	t.Setenv("HOME", dir) // no Azure Resources sign-in record here
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"vscode", "--settings", settings, "--authority", srv.URL(), "--ca-file", ca,
		"--scope", "https://graph.microsoft.com/.default"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := decodeAll(t, stdout.Bytes())
	if len(out) != 1 || out[0]["token_type"] != "Bearer" || out[0]["access_token"] != nil {
		t.Errorf("output %s", stdout.String())
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Form.Get("client_id") != vscode.ClientID || r[0].Form.Get("refresh_token") != rt {
		t.Errorf("requests = %v", r)
	}
	if strings.Contains(stdout.String()+stderr.String(), rt) {
		t.Error("the refresh token was printed")
	}

	// Another cloud has no token: exit 1 with the unavailable message.
	if err := os.WriteFile(settings, []byte(`{"azure.cloud": "AzureChinaCloud"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	code = run(context.Background(), []string{"vscode", "--settings", settings, "--authority", srv.URL(), "--ca-file", ca}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "0.9.11") {
		t.Errorf("no token: exit %d, %q", code, stderr.String())
	}
}
