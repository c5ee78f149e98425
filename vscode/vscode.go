// Package vscode provides VisualStudioCodeCredential: a token as the user that VS Code's Azure
// Account extension (up to version 0.9.11) signed in. It reads azure.cloud and azure.tenant from
// VS Code's user settings.json (JSONC), reads the refresh token the extension stored in the OS
// credential store (service "VS Code Azure", account = the cloud name), and redeems it with VS
// Code's client ID through credential.RefreshToken; rotated refresh tokens are used from then on.
//
// The newer Azure Resources extension signs in through a broker (WAM) that cannot be used from
// here; when its sign-in record exists, the credential reports who is signed in and why it is
// unavailable.
//
// The stores: Linux, the freedesktop Secret Service over D-Bus (SecretService); macOS, the
// Keychain through /usr/bin/security (Keychain); Windows, the Credential Manager through
// CredReadW (CredentialManager). See docs/PROTOCOL.md for the refresh token grant.
//
// # Security considerations
//
// The refresh token read from the store is a secret: it never appears in an error, a log record
// or a printed value. The credential never starts a D-Bus daemon, never activates a Secret
// Service, and never waits on an unlock prompt or Keychain dialog. settings.json and the sign-in
// record are read through size limits, and a malformed file is an error, never a crash.
package vscode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
)

// Constants of VS Code's Azure Account extension.
const (
	ClientID        = "aebc6443-996d-45c2-90f0-388ff96faa56" // VS Code's application ID
	CredentialsName = "VS Code Azure"                        // the credential store's service name
	DefaultCloud    = "AzureCloud"
	credentialName  = "VisualStudioCodeCredential"
	troubleshoot    = "; to troubleshoot, see https://github.com/entrakit/entrakit#the-vs-code-credential"
	// MaxRefreshTokenLength: an Entra refresh token is well under 4 KiB; a longer stored value
	// is something else (such as the newer extension's JSON session).
	MaxRefreshTokenLength = 4096
)

// Clouds maps VS Code's azure.cloud values to authority hosts.
var Clouds = map[string]string{
	"AzureCloud":        authority.PublicCloud,
	"AzureChinaCloud":   authority.ChinaCloud,
	"AzureUSGovernment": authority.USGovernment,
}

// CredentialOptions configure the credential; nil means defaults.
type CredentialOptions struct {
	AuthorityHost              string // default: AZURE_AUTHORITY_HOST, else from "azure.cloud"
	TenantID                   string // default: "azure.tenant", else "organizations"
	AdditionallyAllowedTenants []string
	SettingsPath               string      // default: the OS's VS Code user settings.json
	Secrets                    SecretStore // default: the OS credential store
	HTTPClient                 *http.Client
	Cache                      *cache.Cache
	Logger                     *slog.Logger
	// AuthRecordPath is the Azure Resources extension's sign-in record; default
	// ~/.azure/ms-azuretools.vscode-azureresourcegroups/authRecord.json (or ~/.Azure/...).
	AuthRecordPath string
	// Now is the clock; nil means the system's wall clock.
	Now func() time.Time
	// Retry bounds the retries of a token request; the zero value means the defaults.
	Retry credential.RetryOptions
}

// Credential is VisualStudioCodeCredential. It is safe for concurrent use.
type Credential struct {
	cloud       string
	cfg         authority.Config // the authority (when the cloud is known), tenant and allow-list
	unavailable string           // set at construction: the credential can never work here
	cause       error            // the cause of unavailable, if any
	secrets     SecretStore
	opts        CredentialOptions

	mu     sync.Mutex                              // one store lookup at a time
	inner  atomic.Pointer[credential.RefreshToken] // built once the refresh token has been read
	closed atomic.Bool
}

var _ credential.TokenCredential = (*Credential)(nil)

// NewCredential reads VS Code's settings and prepares the credential. It fails only on invalid
// arguments (a malformed tenant ID or authority, wrapping credential.ErrInvalidInput); a
// credential that cannot work here is still returned, and its GetToken reports
// *credential.CredentialUnavailableError.
func NewCredential(opts *CredentialOptions) (*Credential, error) {
	if opts == nil {
		opts = &CredentialOptions{}
	}
	c := &Credential{opts: *opts, secrets: opts.Secrets}
	if c.secrets == nil {
		c.secrets = defaultSecretStore()
	}
	settingsPath := opts.SettingsPath
	if settingsPath == "" {
		home, _ := os.UserHomeDir()
		if p, err := SettingsPath(runtime.GOOS, os.Getenv, home); err == nil {
			settingsPath = p
		}
	}
	var settings Settings
	if settingsPath != "" {
		s, err := ReadSettings(settingsPath)
		if err != nil {
			c.unavailable, c.cause = err.Error()+"; fix or remove the file (VS Code then uses its defaults)", err
		}
		settings = s
	}
	c.cloud = settings.Cloud
	if c.cloud == "" {
		c.cloud = DefaultCloud
	}
	tenant := opts.TenantID
	source := "TenantID"
	if tenant == "" {
		tenant, source = settings.Tenant, `"azure.tenant" in VS Code's settings`
	}
	if tenant == "" {
		tenant = authority.Organizations
	}
	if err := authority.ValidateTenantID(tenant); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", credential.ErrInvalidInput, source, err)
	}
	host := ""
	switch known, ok := Clouds[c.cloud]; {
	case opts.AuthorityHost != "":
		host = opts.AuthorityHost
	case os.Getenv(authority.EnvAuthorityHost) != "":
		host = os.Getenv(authority.EnvAuthorityHost)
	case ok:
		host = known
	case c.unavailable == "":
		c.unavailable = fmt.Sprintf("VS Code is set to the custom cloud %q; set CredentialOptions.AuthorityHost to its Microsoft Entra authority host", c.cloud)
	}
	// The same validation every credential makes (an unknown cloud's authority is not used).
	cfg, err := authority.NewConfig(host, tenant, opts.AdditionallyAllowedTenants, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", credential.ErrInvalidInput, err)
	}
	c.cfg = cfg
	if strings.EqualFold(tenant, authority.ADFS) && c.unavailable == "" {
		c.unavailable = "ADFS is not supported"
	}
	return c, nil
}

// GetToken returns an access token for opts.Scopes as the VS Code user.
func (c *Credential) GetToken(ctx context.Context, opts credential.TokenRequestOptions) (credential.AccessToken, error) {
	info, err := c.GetTokenInfo(ctx, opts)
	return credential.AccessToken{Token: info.Token, ExpiresOn: info.ExpiresOn}, err
}

// GetTokenInfo is GetToken with the token type and refresh time.
func (c *Credential) GetTokenInfo(ctx context.Context, opts credential.TokenRequestOptions) (credential.AccessTokenInfo, error) {
	if c.closed.Load() {
		return credential.AccessTokenInfo{}, fmt.Errorf("%s: %w", credentialName, credential.ErrClosed)
	}
	if inner := c.inner.Load(); inner != nil {
		return inner.GetTokenInfo(ctx, opts) // it validates, on a cache miss
	}
	if c.unavailable != "" {
		return credential.AccessTokenInfo{}, c.unavailableError(c.unavailable, c.cause)
	}
	// Invalid options fail before the credential store is asked.
	if err := opts.Validate("GetTokenInfo"); err != nil {
		return credential.AccessTokenInfo{}, err
	}
	inner, err := c.credential(ctx)
	if err != nil {
		return credential.AccessTokenInfo{}, err
	}
	return inner.GetTokenInfo(ctx, opts)
}

// credential reads the refresh token (once it succeeds) and builds the refresh token credential.
func (c *Credential) credential(ctx context.Context) (*credential.RefreshToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if inner := c.inner.Load(); inner != nil {
		return inner, nil
	}
	rt, err := c.secrets.Lookup(ctx, CredentialsName, c.cloud)
	switch {
	case errors.Is(err, ErrSecretNotFound):
		return nil, c.unavailableError(c.notSignedIn("VS Code holds no Azure sign-in"), err)
	case err != nil:
		return nil, c.unavailableError("cannot read VS Code's Azure sign-in from the OS credential store: "+err.Error(), err)
	}
	if !plausibleRefreshToken(rt) {
		return nil, c.unavailableError(c.notSignedIn("the value VS Code stored for Azure is not a refresh token (likely a session of a newer Azure extension)"), nil)
	}
	// The refresh token grant with VS Code's client ID and no secret (docs/PROTOCOL.md#the-vs-code-credential).
	inner, err := credential.NewNamedRefreshToken(credentialName, c.cfg.Tenant, ClientID, rt, &credential.RefreshTokenOptions{
		AuthorityHost: c.cfg.Authority.URL(), AdditionallyAllowedTenants: c.cfg.Allowed,
		HTTPClient: c.opts.HTTPClient, Cache: c.opts.Cache, Logger: c.opts.Logger, Now: c.opts.Now, Retry: c.opts.Retry,
	})
	if err != nil {
		return nil, c.unavailableError("the refresh token VS Code stored cannot be used: "+err.Error(), err)
	}
	c.inner.Store(inner)
	return inner, nil
}

// notSignedIn explains the Azure Account 0.9.11 limit and, when the Azure Resources extension's
// sign-in record exists, who is signed in there.
func (c *Credential) notSignedIn(first string) string {
	msg := first + " (cloud " + c.cloud + "); this credential works only with the Azure Account extension 0.9.11 and earlier: " +
		"sign in with that extension, or use another credential such as the Azure CLI or entratoken login"
	if rec, err := c.authRecord(); err != nil {
		msg += "; " + strings.TrimPrefix(err.Error(), "vscode: ")
	} else if rec != nil {
		msg += fmt.Sprintf("; VS Code is signed in as %s (tenant %s) through the Azure Resources extension, whose broker sign-in (WAM) is not supported here", rec.Username, rec.TenantID)
	}
	return msg
}

func (c *Credential) authRecord() (*AuthRecord, error) {
	paths := []string{c.opts.AuthRecordPath}
	if c.opts.AuthRecordPath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		paths = AuthRecordPaths(home)
	}
	for _, p := range paths {
		if rec, err := ReadAuthRecord(p); err != nil || rec != nil {
			return rec, err
		}
	}
	return nil, nil
}

func (c *Credential) unavailableError(msg string, cause error) error {
	return &credential.CredentialUnavailableError{Credential: credentialName, Message: msg + troubleshoot, Err: cause}
}

// plausibleRefreshToken: printable ASCII without spaces, not JSON, at most MaxRefreshTokenLength.
func plausibleRefreshToken(s string) bool {
	if s == "" || len(s) > MaxRefreshTokenLength || s[0] == '{' || s[0] == '[' || s[0] == '"' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Account returns the account the credential signs in as, once a token was fetched.
func (c *Credential) Account() (cache.Account, bool) {
	if inner := c.inner.Load(); inner != nil {
		return inner.Account()
	}
	return cache.Account{}, false
}

// Close releases the credential's connections; later calls fail with credential.ErrClosed.
func (c *Credential) Close() error {
	c.closed.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if inner := c.inner.Load(); inner != nil {
		return inner.Close()
	}
	return nil
}

// Format prints the cloud, tenant and authority; never the refresh token.
func (c *Credential) Format(f fmt.State, verb rune) {
	auth := ""
	if c.unavailable == "" || Clouds[c.cloud] != "" {
		auth = c.cfg.Authority.URL()
	}
	fmt.Fprintf(f, "vscode.Credential{Cloud:%s TenantID:%s Authority:%s}", c.cloud, c.cfg.Tenant, auth)
}
