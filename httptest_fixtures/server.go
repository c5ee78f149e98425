// Package entratest is a fake Microsoft Entra ID v2.0 endpoint for tests, examples and demos:
// an authorize endpoint that approves automatically, and a token endpoint for the authorization
// code and refresh token grants, served over loopback TLS by net/http/httptest.
//
// Import it as
//
//	entratest "github.com/entrakit/entrakit/httptest_fixtures"
//
// It is written independently of entrakit's client packages (it imports none of them), so tests
// against it catch the client's mistakes rather than repeat them. It behaves like Entra where
// clients can tell, as strictly as Entra: single-use, expiring codes; PKCE S256; refresh tokens
// only for offline_access, rotated (optionally strictly); tokens naming the tenant of the
// request (tid, iss) and client_info naming the home account; a .default scope expanded to the
// consented permissions, offline_access never echoed; the CAE capability in any case;
// id_tokens and access tokens signed with its own RSA key; Entra's error bodies (AADSTS codes,
// trace and correlation IDs, claims challenges), for metadata requests of unknown tenants too.
// Knobs inject faults (statuses with Retry-After, delays, malformed, truncated or reset
// answers), throttle clients that ignore Retry-After, and set token lifetimes. Every request is
// logged for assertions. docs/PROTOCOL.md shows its exchanges.
//
// [NewServer] serves it on a loopback TLS port of its own; [NewHandler] makes it an
// http.Handler to mount on a server, mux or TLS configuration of the test's.
//
// # Security considerations
//
// This is a test fixture. It issues tokens to anyone, logs every secret it receives in its
// request log, and MUST NOT be exposed beyond loopback or used to protect anything.
package entratest

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultTenantID is the fake's home tenant unless Options.TenantID says otherwise.
const DefaultTenantID = "7f0c1b4e-3a5d-4c2b-9e8f-1a2b3c4d5e6f"

// Options configure a Server; nil means defaults. They may be changed later with Configure.
type Options struct {
	TenantID             string        // the fake's tenant; default DefaultTenantID
	AccessTokenLifetime  time.Duration // default 1 hour
	RefreshIn            time.Duration // sent as refresh_in when positive
	CodeLifetime         time.Duration // default 10 minutes (then AADSTS70008)
	RefreshTokenLifetime time.Duration // default 24 hours (then AADSTS700082)
	// StrictRotation rejects a refresh token once it has been used (Entra keeps old ones
	// valid; strict mode proves a client always uses the newest).
	StrictRotation bool
	// NoRefreshToken leaves refresh_token out of responses.
	NoRefreshToken bool
	// ExpiresInAsString sends expires_in (and refresh_in) as strings, as some Entra endpoints do.
	ExpiresInAsString bool
	// ExpiresOn sends expires_on (absolute) instead of expires_in.
	ExpiresOn bool
	// OmitExpiry sends neither expires_in nor expires_on: clients must read the JWT exp.
	OmitExpiry bool
	// NoClientInfo leaves client_info out even when the request asks for it, so clients must
	// name the account from the id_token.
	NoClientInfo bool
	// RequirePKCE refuses authorize requests without an S256 code_challenge.
	RequirePKCE bool
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// Addr is the loopback address to listen on; empty means a random port (use that: a fixed
	// port fails when something else holds it).
	Addr string
	// Logger receives the server's own errors (such as TLS handshakes a client broke off);
	// nil discards them, so that they never reach the standard logger.
	Logger *slog.Logger
	// PublicURL is the URL clients use for the fake when it is not URL() (a client that dials
	// the fake for another host name, as the entratoken demo does for https://example.com, so
	// that its authority host is the same from run to run): it names the issuer of tokens, the
	// discovery document's endpoints and error_uri. The certificate is valid for example.com,
	// 127.0.0.1 and ::1.
	PublicURL string
	// AlwaysIssueRefreshTokens issues a refresh token with every user token, as the fake did
	// before it followed Entra: by default one comes only when offline_access was requested (in
	// the authorize request of a code or in the token request), and with every refresh.
	AlwaysIssueRefreshTokens bool
	// Consent is what a resource's .default scope expands to: resource (such as
	// "https://graph.microsoft.com") -> the permission names consented for it, which become the
	// access token's scp and the response's scope. Resources not named get User.Read for
	// Microsoft Graph and user_impersonation for any other.
	Consent map[string][]string
	// Throttle answers 429, with the wait left in Retry-After, to a token request of a client
	// that comes back before the wait a previous answer's Retry-After asked for: a client that
	// ignores Retry-After fails its tests as it would be throttled by Entra.
	Throttle bool
}

// Client is an app registration. Clients not added are accepted as public clients.
type Client struct {
	ID           string
	Secret       string   // non-empty: a confidential client that must send it
	RedirectURIs []string // empty: any loopback or https redirect URI
}

// User is an account the fake signs in.
type User struct {
	ObjectID string
	TenantID string // home tenant; default the server's
	Username string // preferred_username
	Name     string
}

// DefaultUser is signed in unless a request names another (login_hint) or a test passes one.
var DefaultUser = User{ObjectID: "0b7d5c7a-6f3e-4a8c-b2d1-9c8e7f6a5b4c", Username: "alice@contoso.example", Name: "Alice Example"}

// Request is one logged request. Form holds every field as received, secrets included.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Header http.Header
	Form   url.Values
	Status int
}

// Handler is the fake Entra as an http.Handler, for a test that serves it itself: on its own
// httptest server, TLS configuration or mux (as go-oidc's oidctest does). It answers at
// /{tenant}/oauth2/v2.0/authorize, /{tenant}/oauth2/v2.0/token,
// /{tenant}/discovery/v2.0/keys and /{tenant}/v2.0/.well-known/openid-configuration. The
// issuer it names is Options.PublicURL or else the scheme and host of each request; mounted
// under a path prefix (with http.StripPrefix), set PublicURL to the URL of the prefix. Its
// methods are safe for concurrent use. [Server] is a Handler served over loopback TLS.
type Handler struct {
	mux  *http.ServeMux
	base string // the URL of the server a Server serves it on; "" when mounted by a user

	mu            sync.Mutex
	opts          Options
	clients       map[string]Client
	users         map[string]User // by username
	tenants       map[string]bool
	codes         map[string]*code
	refreshTokens map[string]*refreshToken
	log           []Request
	faults        []Fault
	claimsNeeded  map[string]bool      // user object IDs that must answer a claims challenge
	notBefore     map[string]time.Time // client ID -> end of the wait its last Retry-After asked for
	throttled     int
}

// Server is a running fake Entra: a [Handler] served by net/http/httptest on a loopback TLS
// port. Its methods are safe for concurrent use.
type Server struct {
	*Handler
	srv *httptest.Server
}

type code struct {
	clientID, redirectURI, challenge, nonce string
	scopes                                  []string
	user                                    User
	issued                                  time.Time
	redeemed                                bool
}

type refreshToken struct {
	clientID string
	user     User
	issued   time.Time
	used     bool
	revoked  bool
}

// NewHandler makes a fake Entra to serve on a server of the caller's. Options.Addr and
// Options.Logger, which configure a Server's listener, are ignored.
func NewHandler(opts *Options) *Handler {
	s := &Handler{
		clients: map[string]Client{}, users: map[string]User{}, codes: map[string]*code{},
		refreshTokens: map[string]*refreshToken{}, claimsNeeded: map[string]bool{}, notBefore: map[string]time.Time{},
	}
	if opts != nil {
		s.opts = *opts
	}
	s.fillDefaults()
	s.tenants = map[string]bool{s.opts.TenantID: true, "organizations": true, "common": true, "consumers": true}
	s.users[DefaultUser.Username] = s.withTenant(DefaultUser)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
	s.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	s.mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.keys)
	s.mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.discovery)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// NewServer starts a fake Entra on a loopback TLS port. Close it when done.
func NewServer(opts *Options) *Server {
	h := NewHandler(opts)
	s := &Server{Handler: h, srv: httptest.NewUnstartedServer(h)}
	if h.opts.Addr != "" {
		ln, err := net.Listen("tcp", h.opts.Addr)
		if err != nil {
			panic("entratest: listening on " + h.opts.Addr + ": " + err.Error())
		}
		s.srv.Listener.Close()
		s.srv.Listener = ln
	}
	s.srv.EnableHTTP2 = false
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if h.opts.Logger != nil {
		s.srv.Config.ErrorLog = slog.NewLogLogger(h.opts.Logger.Handler(), slog.LevelWarn)
	}
	s.srv.StartTLS()
	h.mu.Lock()
	h.base = s.srv.URL
	h.mu.Unlock()
	return s
}

func (s *Handler) fillDefaults() {
	o := &s.opts
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.AccessTokenLifetime == 0 {
		o.AccessTokenLifetime = time.Hour
	}
	if o.CodeLifetime == 0 {
		o.CodeLifetime = 10 * time.Minute
	}
	if o.RefreshTokenLifetime == 0 {
		o.RefreshTokenLifetime = 24 * time.Hour
	}
}

func (s *Handler) withTenant(u User) User {
	if u.TenantID == "" {
		u.TenantID = s.opts.TenantID
	}
	return u
}

// Close shuts the server down, ending hung requests.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the server's base URL, "https://127.0.0.1:port": pass it as an authority host.
func (s *Server) URL() string { return s.srv.URL }

// baseURLLocked is what clients call the fake, for a caller that holds s.mu:
// Options.PublicURL, else the URL of its Server, else the scheme and host of r.
func (s *Handler) baseURLLocked(r *http.Request) string {
	switch {
	case s.opts.PublicURL != "":
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	case s.base != "":
		return s.base
	case r.TLS != nil:
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Host is "127.0.0.1:port".
func (s *Server) Host() string { return strings.TrimPrefix(s.srv.URL, "https://") }

// TenantID is the fake's home tenant.
func (s *Handler) TenantID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.TenantID
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// CertificatePEM returns the server's self-signed certificate in PEM, for clients in other
// processes (pass it to entratoken login --ca-file).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// TLSConfig returns a TLS configuration that trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return s.srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// TokenURL returns the token endpoint for tenant.
func (s *Server) TokenURL(tenant string) string {
	return s.srv.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// AuthorizeURL returns the authorize endpoint for tenant.
func (s *Server) AuthorizeURL(tenant string) string {
	return s.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize"
}

// Configure changes the options of a running server.
func (s *Handler) Configure(f func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.opts)
	s.fillDefaults()
	s.tenants[s.opts.TenantID] = true
}

// AddClient registers an app.
func (s *Handler) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// AddUser adds an account that authorize requests can name with login_hint.
func (s *Handler) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Username] = s.withTenant(u)
}

// AddTenant makes the token endpoint accept another tenant (others get AADSTS90002).
func (s *Handler) AddTenant(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tenants[tenant] = true
}

// CodeRequest is what IssueCode needs: what an authorize request would have carried.
type CodeRequest struct {
	ClientID      string
	RedirectURI   string
	Scopes        []string
	CodeChallenge string // S256 challenge; empty for no PKCE
	User          User   // zero: DefaultUser
	Nonce         string // the OpenID Connect nonce, echoed in the id_token of the redemption
}

// IssueCode mints an authorization code as the authorize endpoint would, without a browser.
func (s *Handler) IssueCode(r CodeRequest) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCodeLocked(r)
}

func (s *Handler) issueCodeLocked(r CodeRequest) string {
	u := r.User
	if u.ObjectID == "" {
		u = s.users[DefaultUser.Username]
	}
	c := "M." + randomString(24) + "." + randomString(96)
	s.codes[c] = &code{clientID: r.ClientID, redirectURI: r.RedirectURI, challenge: r.CodeChallenge, nonce: r.Nonce,
		scopes: r.Scopes, user: s.withTenant(u), issued: s.now()}
	return c
}

// IssueRefreshToken mints a refresh token for clientID and user (zero: DefaultUser), as if the
// user had signed in elsewhere (e.g. in VS Code).
func (s *Handler) IssueRefreshToken(clientID string, user User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user.ObjectID == "" {
		user = s.users[DefaultUser.Username]
	}
	return s.issueRefreshTokenLocked(clientID, s.withTenant(user))
}

func (s *Handler) issueRefreshTokenLocked(clientID string, u User) string {
	rt := "0.A" + randomString(180)
	s.refreshTokens[rt] = &refreshToken{clientID: clientID, user: u, issued: s.now()}
	return rt
}

// RevokeRefreshTokens invalidates every refresh token issued so far.
func (s *Handler) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refreshTokens {
		rt.revoked = true
	}
}

// RequireClaims makes the next token request for user (zero: DefaultUser) that carries no
// claims fail with AADSTS50076 and a claims challenge, as MFA step-up does.
func (s *Handler) RequireClaims(user User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user.ObjectID == "" {
		user = DefaultUser
	}
	s.claimsNeeded[user.ObjectID] = true
}

// Requests returns a copy of the request log.
func (s *Handler) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

// TokenRequests counts the requests the token endpoint received.
func (s *Handler) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if strings.HasSuffix(r.Path, "/token") {
			n++
		}
	}
	return n
}

// ResetLog empties the request log.
func (s *Handler) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Handler) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Handler) record(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Time: s.now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: cloneValues(r.Form), Status: status})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func randomString(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
