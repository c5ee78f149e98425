package vscode_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/vscode"
)

// store is a SecretStore holding what VS Code's Azure Account extension would have stored.
type store map[string]string

func (s store) Lookup(_ context.Context, service, account string) (string, error) {
	if v, ok := s[service+"/"+account]; ok {
		return v, nil
	}
	return "", vscode.ErrSecretNotFound
}

// A token as the VS Code user; in production the settings path and the secret store default to
// the OS's.
func ExampleNewCredential() {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "entrakit-example")
	defer os.RemoveAll(dir)
	settings := filepath.Join(dir, "settings.json")
	_ = os.WriteFile(settings, []byte(`{
		// VS Code user settings are JSONC
		"azure.cloud": "AzureCloud",
	}`), 0o600)

	rt := srv.IssueRefreshToken(vscode.ClientID, entratest.User{})
	cred, err := vscode.NewCredential(&vscode.CredentialOptions{SettingsPath: settings,
		Secrets: store{"VS Code Azure/AzureCloud": rt}, AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cred.Close()
	info, err := cred.GetTokenInfo(context.Background(), credential.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	fmt.Println(info.TokenType, err, srv.Requests()[0].Form.Get("client_id"))
	// Output: Bearer <nil> aebc6443-996d-45c2-90f0-388ff96faa56
}
