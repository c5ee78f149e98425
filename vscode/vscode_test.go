package vscode

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/testkit"
)

// mapStore is a unit-level SecretStore.
type mapStore struct {
	secrets map[string]string // "service/account"
	err     error
	calls   int
}

func (m *mapStore) Lookup(_ context.Context, service, account string) (string, error) {
	m.calls++
	if m.err != nil {
		return "", m.err
	}
	if v, ok := m.secrets[service+"/"+account]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%w: %s/%s", ErrSecretNotFound, service, account)
}

func settingsFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noRecord(t *testing.T) string { return filepath.Join(t.TempDir(), "none", "authRecord.json") }

var graph = credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}

func unavailable(t *testing.T, err error, says ...string) {
	t.Helper()
	var ue *credential.CredentialUnavailableError
	if !errors.As(err, &ue) || ue.Credential != "VisualStudioCodeCredential" {
		t.Fatalf("err = %v (%T), want *CredentialUnavailableError", err, err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not say %q", err, s)
		}
	}
	// One voice: one line, ending without a period, the troubleshooting link once.
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || strings.HasSuffix(msg, ".") || strings.Count(msg, "to troubleshoot") != 1 {
		t.Errorf("message %q: want one line without a final period, with the link once", msg)
	}
}

func TestAuthorityAndTenantResolution(t *testing.T) {
	cases := []struct {
		name, settings, optAuthority, env, wantHost, wantTenant string
	}{
		{"defaults", `{}`, "", "", "login.microsoftonline.com", "organizations"},
		{"China cloud", `{"azure.cloud":"AzureChinaCloud"}`, "", "", "login.chinacloudapi.cn", "organizations"},
		{"US Government", `{"azure.cloud":"AzureUSGovernment","azure.tenant":"t1"}`, "", "", "login.microsoftonline.us", "t1"},
		{"environment beats the cloud map", `{"azure.cloud":"AzureChinaCloud"}`, "", "login.microsoftonline.us", "login.microsoftonline.us", "organizations"},
		{"option beats the environment", `{}`, "https://example.login", "login.microsoftonline.us", "example.login", "organizations"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AZURE_AUTHORITY_HOST", tc.env)
			c, err := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, tc.settings), AuthorityHost: tc.optAuthority, Secrets: &mapStore{}})
			if err != nil {
				t.Fatal(err)
			}
			if c.cfg.Authority.Host() != tc.wantHost || c.cfg.Tenant != tc.wantTenant || c.unavailable != "" {
				t.Errorf("host %q tenant %q unavailable %q", c.cfg.Authority.Host(), c.cfg.Tenant, c.unavailable)
			}
		})
	}
}

func TestUnavailableResults(t *testing.T) {
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	store := &mapStore{}
	custom, err := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{"azure.cloud":"MyStack"}`), Secrets: store})
	if err != nil {
		t.Fatal(err)
	}
	_, err = custom.GetToken(context.Background(), credential.TokenRequestOptions{})
	unavailable(t, err, "custom cloud", `"MyStack"`, "AuthorityHost") // before the scope check, as the reference
	adfs, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{"azure.tenant":"ADFS"}`), Secrets: store})
	_, err = adfs.GetToken(context.Background(), graph)
	unavailable(t, err, "ADFS is not supported")
	broken, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `[1,2]`), Secrets: store})
	_, err = broken.GetToken(context.Background(), graph)
	unavailable(t, err, "not a JSON object")
	missing, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), Secrets: store, AuthRecordPath: noRecord(t)})
	_, err = missing.GetToken(context.Background(), graph)
	unavailable(t, err, "VS Code holds no Azure sign-in", "0.9.11", "troubleshoot")
	if store.calls != 1 {
		t.Errorf("%d store lookups; only the last credential could look", store.calls)
	}
	locked, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), Secrets: &mapStore{err: fmt.Errorf("%w: the keyring is locked", ErrStoreUnavailable)}})
	_, err = locked.GetToken(context.Background(), graph)
	unavailable(t, err, "locked")
}

func TestConstructionValidatesTenants(t *testing.T) {
	for name, opts := range map[string]*CredentialOptions{
		"tenant option a/b":     {TenantID: "a/b", SettingsPath: settingsFile(t, `{}`)},
		"settings tenant ../x":  {SettingsPath: settingsFile(t, `{"azure.tenant":"../x"}`)},
		"settings tenant empty": {SettingsPath: settingsFile(t, `{"azure.tenant":""}`)},
		"bad allowed tenant":    {SettingsPath: settingsFile(t, `{}`), AdditionallyAllowedTenants: []string{"a b"}},
		"http authority":        {SettingsPath: settingsFile(t, `{}`), AuthorityHost: "http://x"},
	} {
		if name == "settings tenant empty" {
			// An empty azure.tenant means "not set": the default applies, as VS Code reads it.
			if _, err := NewCredential(opts); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if _, err := NewCredential(opts); !errors.Is(err, credential.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
}

func TestStoredValueThatIsNotARefreshToken(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "authRecord.json")
	if err := os.WriteFile(record, []byte(`{"authority":"https://login.microsoftonline.com/organizations","clientId":"`+ClientID+`",
		"homeAccountId":"u.t","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","username":"ada@contoso.example"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"the newer extension's JSON": `{"id":"session","accessToken":"x","account":{"label":"ada"}}`,
		"a value over 4 KiB":         strings.Repeat("r", MaxRefreshTokenLength+1),
		"a value with spaces":        "not a token",
	} {
		c, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), AuthRecordPath: record,
			Secrets: &mapStore{secrets: map[string]string{"VS Code Azure/AzureCloud": value}}})
		_, err := c.GetToken(context.Background(), graph)
		unavailable(t, err, "not a refresh token", "0.9.11", "ada@contoso.example", "broker")
		if strings.Contains(err.Error(), "accessToken") || strings.Contains(err.Error(), "rrrr") {
			t.Errorf("%s: the stored value leaks into %q", name, err)
		}
	}
	// No stored value, but a record: the message names the signed-in user.
	c, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), AuthRecordPath: record, Secrets: &mapStore{}})
	_, err := c.GetToken(context.Background(), graph)
	unavailable(t, err, "ada@contoso.example", "Azure Resources extension")
}

func TestAuthRecordValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if rec, err := ReadAuthRecord(filepath.Join(dir, "missing")); rec != nil || err != nil {
		t.Errorf("missing: %v %v", rec, err)
	}
	cases := map[string]struct{ content, says string }{
		"too large":      {`{"x":"` + strings.Repeat("a", MaxAuthRecordSize) + `"}`, "is larger than 10240 bytes"},
		"not JSON":       {`nope`, "not a JSON object"},
		"missing fields": {`{"tenantId":"t"}`, "clientId field is missing"},
		"wrong client":   {`{"authority":"a","clientId":"other","homeAccountId":"h","tenantId":"t","username":"u"}`, "clientId must match"},
		"bad tenant":     {`{"authority":"a","clientId":"` + ClientID + `","homeAccountId":"h","tenantId":"a/b","username":"u"}`, "tenantId validation failed"},
		"empty username": {`{"authority":"a","clientId":"` + ClientID + `","homeAccountId":"h","tenantId":"t","username":""}`, "username must be a non-empty string"},
	}
	for name, tc := range cases {
		_, err := ReadAuthRecord(write(name, tc.content))
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.says)
		}
	}
	// An invalid record is reported in the unavailable message.
	c, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), AuthRecordPath: write("bad", `{"tenantId":"t"}`), Secrets: &mapStore{}})
	_, err := c.GetToken(context.Background(), graph)
	unavailable(t, err, "sign-in record is invalid", "clientId field is missing")
}

func TestEndToEndWithARealKeyringAndTheFakeEntra(t *testing.T) {
	bus := testkit.StartBus(t)
	bus.StartKeyring(t)
	srv := entratest.NewServer(&entratest.Options{StrictRotation: true})
	defer srv.Close()
	rt := srv.IssueRefreshToken(ClientID, entratest.User{})
	bus.StoreLikeKeytar(t, CredentialsName, "AzureCloud", rt)

	c, err := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, "// VS Code settings\n{\"azure.tenant\": \""+srv.TenantID()+"\",}"),
		Secrets: &SecretService{Address: bus.Address}, AuthorityHost: srv.URL(), HTTPClient: srv.Client(), AuthRecordPath: noRecord(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.GetToken(context.Background(), graph)
	if err != nil || tok.Token == "" {
		t.Fatalf("GetToken: %v", err)
	}
	first := srv.Requests()[0]
	want := url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "refresh_token": {rt},
		"scope": {"https://graph.microsoft.com/.default"}, "client_info": {"1"}}
	if first.Path != "/"+srv.TenantID()+"/oauth2/v2.0/token" || first.Form.Encode() != want.Encode() {
		t.Errorf("request %s %v", first.Path, first.Form)
	}
	// Strict rotation: the next two refreshes only work with the rotated tokens.
	for _, s := range []string{"https://vault.azure.net/.default", "https://management.azure.com/.default"} {
		if _, err := c.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{s}}); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if again, _ := c.GetToken(context.Background(), graph); again.Token != tok.Token || srv.TokenRequests() != 3 {
		t.Errorf("cached call made a request (%d in all)", srv.TokenRequests())
	}
	if _, err := c.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{"a b"}}); !errors.Is(err, credential.ErrInvalidInput) {
		t.Errorf("invalid scope after sign-in: %v, want ErrInvalidInput", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, rt) {
		t.Errorf("the refresh token is printed: %s", s)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetToken(context.Background(), graph); !errors.Is(err, credential.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestTenantRulesApply(t *testing.T) {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	srv.AddTenant("other-tenant")
	rt := srv.IssueRefreshToken(ClientID, entratest.User{})
	store := func() *mapStore { return &mapStore{secrets: map[string]string{"VS Code Azure/AzureCloud": rt}} }
	home, err := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{"azure.tenant":"`+srv.TenantID()+`"}`),
		Secrets: store(), AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer home.Close()
	other := credential.TokenRequestOptions{Scopes: graph.Scopes, TenantID: "other-tenant"}
	if _, err := home.GetToken(context.Background(), other); !errors.Is(err, credential.ErrInvalidInput) || !strings.Contains(err.Error(), "AdditionallyAllowedTenants") {
		t.Errorf("unlisted tenant: %v", err)
	}
	allowed, _ := NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{"azure.tenant":"`+srv.TenantID()+`"}`),
		Secrets: store(), AuthorityHost: srv.URL(), HTTPClient: srv.Client(), AdditionallyAllowedTenants: []string{"*"}})
	defer allowed.Close()
	if _, err := allowed.GetToken(context.Background(), other); err != nil {
		t.Errorf("allowed tenant: %v", err)
	}
	if p := srv.Requests()[0].Path; p != "/other-tenant/oauth2/v2.0/token" {
		t.Errorf("request went to %s", p)
	}
	if srv.TokenRequests() != 1 {
		t.Errorf("%d requests; the refused tenant must not reach the server", srv.TokenRequests())
	}
}

// A FIFO where settings.json or the sign-in record belongs never blocks: the credential is
// built at once and reports it.
func TestFIFOsNeverBlock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("FIFOs need Unix")
	}
	t.Parallel()
	dir := t.TempDir()
	settings, record := filepath.Join(dir, "settings.json"), filepath.Join(dir, "authRecord.json")
	for _, p := range []string{settings, record} {
		if err := mkfifo(p); err != nil {
			t.Fatal(err)
		}
	}
	c, err := NewCredential(&CredentialOptions{SettingsPath: settings, Secrets: &mapStore{}, AuthRecordPath: record})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetToken(context.Background(), graph)
	unavailable(t, err, "not a regular file")
	c, _ = NewCredential(&CredentialOptions{SettingsPath: settingsFile(t, `{}`), Secrets: &mapStore{}, AuthRecordPath: record})
	_, err = c.GetToken(context.Background(), graph)
	unavailable(t, err, "not a regular file", "VS Code holds no Azure sign-in")
}

// A settings file that cannot be read keeps its cause for errors.Is, through the credential's
// unavailable error.
func TestUnreadableSettingsKeepTheirCause(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs Unix errors")
	}
	t.Parallel()
	p, want := settingsFile(t, `{}`), error(fs.ErrPermission)
	if os.Geteuid() == 0 { // permissions do not stop root: a path through a file fails for anyone
		p, want = filepath.Join(p, "settings.json"), syscall.ENOTDIR
	} else {
		_ = os.Chmod(p, 0)
	}
	c, _ := NewCredential(&CredentialOptions{SettingsPath: p, Secrets: &mapStore{}, AuthRecordPath: noRecord(t)})
	if _, err := c.GetToken(context.Background(), graph); !errors.Is(err, want) || !errors.Is(err, ErrSettings) {
		t.Errorf("err = %v, want %v and ErrSettings through it", err, want)
	}
}
