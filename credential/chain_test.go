package credential_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/vscode"
)

// noSecrets is a secret store that holds nothing, counting the lookups.
type noSecrets struct{ lookups atomic.Int32 }

func (s *noSecrets) Lookup(context.Context, string, string) (string, error) {
	s.lookups.Add(1)
	return "", vscode.ErrSecretNotFound
}

func TestAChainMovesPastUnavailableCredentialsAndStopsAtAFailure(t *testing.T) {
	t.Parallel()
	srv := entratest.NewServer(nil)
	defer srv.Close()
	dir := t.TempDir()
	secrets := &noSecrets{}
	vs, err := vscode.NewCredential(&vscode.CredentialOptions{SettingsPath: filepath.Join(dir, "none.json"), Secrets: secrets,
		AuthRecordPath: filepath.Join(dir, "none", "authRecord.json"), AuthorityHost: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() *credential.RefreshToken {
		c, err := credential.NewRefreshToken(srv.TenantID(), "app", srv.IssueRefreshToken("app", entratest.User{}),
			&credential.RefreshTokenOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	opts := credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}

	chain, _ := credential.NewChain(vs, refresh())
	for range 3 {
		if info, err := chain.GetTokenInfo(context.Background(), opts); err != nil || info.TokenType != "Bearer" {
			t.Fatalf("the chain: %v, %v", info, err)
		}
	}
	if n := secrets.lookups.Load(); n != 1 {
		t.Errorf("the unavailable credential was asked %d times; after a success the chain keeps to the one that worked", n)
	}

	// A credential that fails (the server said no) stops the chain: the next is not asked.
	failing := refresh()
	srv.RevokeRefreshTokens()
	next := &noSecrets{}
	vs2, _ := vscode.NewCredential(&vscode.CredentialOptions{SettingsPath: filepath.Join(dir, "none.json"), Secrets: next,
		AuthRecordPath: filepath.Join(dir, "none", "authRecord.json"), AuthorityHost: srv.URL()})
	chain, _ = credential.NewChain(failing, vs2)
	_, err = chain.GetToken(context.Background(), opts)
	var af *credential.AuthenticationFailedError
	if !errors.As(err, &af) || af.ErrorCode != "invalid_grant" || next.lookups.Load() != 0 {
		t.Errorf("err = %v, next asked %d times; want invalid_grant and the chain stopped", err, next.lookups.Load())
	}

	// Nothing can run: one unavailable error naming each.
	chain, _ = credential.NewChain(vs, vs2)
	_, err = chain.GetToken(context.Background(), opts)
	var ue *credential.CredentialUnavailableError
	if !errors.As(err, &ue) || ue.Credential != "ChainedTokenCredential" || strings.Count(err.Error(), "VisualStudioCodeCredential") != 2 ||
		strings.Count(err.Error(), "to troubleshoot") != 1 {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, vscode.ErrSecretNotFound) {
		t.Errorf("the causes are lost: %v", err)
	}
	if _, err := credential.NewChain(); !errors.Is(err, credential.ErrInvalidInput) {
		t.Errorf("an empty chain: %v", err)
	}
}
