package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"

	"golang.org/x/oauth2"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
)

// RequestOptions shape one authorize request; nil means defaults.
type RequestOptions struct {
	// RedirectURI is where Entra sends the browser back: one of the app registration's. It is
	// required by NewRequest; Loopback and WebApp set it themselves.
	RedirectURI string
	// Prompt is "login", "consent", "select_account" or "none"; empty asks only when needed.
	Prompt string
	// LoginHint fills in the user name (such as "alice@contoso.com").
	LoginHint string
	// DomainHint skips the home realm discovery ("contoso.com", "consumers").
	DomainHint string
	// Claims asks for claims, such as those of a claims challenge (a JSON object).
	Claims string
}

// Request is one sign-in in progress: the authorize URL to send the browser to, and what the
// callback must match. Finish it at most once. It is safe for concurrent use.
type Request struct {
	// URL is the authorize URL (it carries the state and the PKCE challenge, not the verifier).
	URL string `json:"-"`
	// RedirectURI is the callback's URI.
	RedirectURI string

	cfg                    *config
	state, nonce, verifier string
	used                   atomic.Bool
}

// NewRequest starts a sign-in: a fresh PKCE verifier (S256), state and nonce, and the authorize
// URL (response_type=code, response_mode=query). It validates the configuration and options
// (errors wrap credential.ErrInvalidInput) and does no I/O.
func (c *Config) NewRequest(opts *RequestOptions) (*Request, error) {
	cfg, err := c.validate()
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &RequestOptions{}
	}
	return cfg.newRequest(opts)
}

func (c *config) newRequest(opts *RequestOptions) (*Request, error) {
	u, err := url.Parse(opts.RedirectURI)
	if opts.RedirectURI == "" || err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: RedirectURI must be an absolute URI without a fragment, registered for the app", credential.ErrInvalidInput)
	}
	if err := validClaims(opts.Claims); err != nil {
		return nil, err
	}
	endpoint, err := c.auth.Authority.AuthorizeEndpoint(c.auth.Tenant)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", credential.ErrInvalidInput, err)
	}
	r := &Request{RedirectURI: opts.RedirectURI, cfg: c, state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier()}
	oc := oauth2.Config{ClientID: c.ClientID, Endpoint: oauth2.Endpoint{AuthURL: endpoint}, RedirectURL: opts.RedirectURI, Scopes: c.authorizeScopes()}
	params := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(r.verifier),
		oauth2.SetAuthURLParam("nonce", r.nonce),
		oauth2.SetAuthURLParam("response_mode", "query"),
	}
	for k, v := range map[string]string{"prompt": opts.Prompt, "login_hint": opts.LoginHint, "domain_hint": opts.DomainHint, "claims": opts.Claims} {
		if v != "" {
			params = append(params, oauth2.SetAuthURLParam(k, v))
		}
	}
	r.URL = oc.AuthCodeURL(r.state, params...)
	return r, nil
}

// State returns the request's state, for apps that keep sign-ins in progress themselves.
func (r *Request) State() string { return r.state }

// matches reports, in constant time, whether state is the request's.
func (r *Request) matches(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(r.state)) == 1
}

// Result is a finished sign-in.
type Result struct {
	// Credential is bound to the account that signed in; it keeps the account's tokens fresh.
	Credential *credential.AuthorizationCode
	// Account is who signed in: home account ID, authority host, tenant and user name.
	Account cache.Account
	// Token is the first access token (for Config.Scopes).
	Token credential.AccessTokenInfo
}

// Finish checks a callback's query against the request and redeems its code: the state must be
// the request's (compared in constant time) and unused, the id_token must carry the request's
// nonce. A callback with a wrong or missing state returns ErrStateMismatch and leaves the request
// as it was; once a callback with the right state arrived, the request is used up. Entra's
// refusals (error=...) are *AuthorizeError.
func (r *Request) Finish(ctx context.Context, query url.Values) (*Result, error) {
	if !r.matches(query.Get("state")) {
		return nil, ErrStateMismatch
	}
	if !r.used.CompareAndSwap(false, true) {
		return nil, ErrStateUsed
	}
	if e := query.Get("error"); e != "" {
		return nil, newAuthorizeError(e, query.Get("error_description"), query.Get("error_uri"))
	}
	code := query.Get("code")
	if code == "" {
		return nil, ErrNoCode
	}
	c := r.cfg
	cred, err := credential.NewAuthorizationCode(c.auth.Tenant, c.ClientID, code, r.RedirectURI, &credential.AuthorizationCodeOptions{
		ClientSecret: c.ClientSecret, CodeVerifier: r.verifier, Nonce: r.nonce, AuthorityHost: c.auth.Authority.URL(),
		AdditionallyAllowedTenants: c.AdditionallyAllowedTenants, HTTPClient: c.HTTPClient, Cache: c.Cache, Logger: c.Logger,
		Now: c.Now, Retry: c.Retry,
	})
	if err != nil {
		return nil, err
	}
	info, err := cred.GetTokenInfo(ctx, credential.TokenRequestOptions{Scopes: c.tokenScopes()})
	if err != nil {
		cred.Close()
		return nil, err
	}
	account, _ := cred.Account()
	return &Result{Credential: cred, Account: account, Token: info}, nil
}

// Format prints the request without its state, nonce or verifier.
func (r *Request) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "signin.Request{RedirectURI:%s}", r.RedirectURI)
}

// LogValue logs the request without its state, nonce or verifier.
func (r *Request) LogValue() slog.Value {
	return slog.GroupValue(slog.String("redirect_uri", r.RedirectURI))
}

// LogValue logs the sign-in's account, not its token.
func (r *Result) LogValue() slog.Value {
	return slog.GroupValue(slog.String("home_account_id", r.Account.HomeAccountID), slog.String("username", r.Account.Username),
		slog.String("tenant_id", r.Account.TenantID))
}
