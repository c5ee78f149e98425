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
// clients can tell: single-use, expiring codes; PKCE S256; refresh token rotation (optionally
// strict); client_info; id_tokens and access tokens signed with its own RSA key; Entra's error
// bodies (AADSTS codes, trace and correlation IDs, claims challenges). Knobs inject faults
// (statuses with Retry-After, delays, malformed, truncated or reset answers) and set token
// lifetimes. Every request is logged for assertions. docs/PROTOCOL.md shows its exchanges.
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

// Server is a running fake Entra. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu            sync.Mutex
	opts          Options
	clients       map[string]Client
	users         map[string]User // by username
	tenants       map[string]bool
	codes         map[string]*code
	refreshTokens map[string]*refreshToken
	log           []Request
	faults        []Fault
	claimsNeeded  map[string]bool // user object IDs that must answer a claims challenge
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

// NewServer starts a fake Entra on a loopback TLS port. Close it when done.
func NewServer(opts *Options) *Server {
	s := &Server{
		clients: map[string]Client{}, users: map[string]User{}, codes: map[string]*code{},
		refreshTokens: map[string]*refreshToken{}, claimsNeeded: map[string]bool{},
	}
	if opts != nil {
		s.opts = *opts
	}
	s.fillDefaults()
	s.tenants = map[string]bool{s.opts.TenantID: true, "organizations": true, "common": true, "consumers": true}
	s.users[DefaultUser.Username] = s.withTenant(DefaultUser)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.keys)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.discovery)
	s.srv = httptest.NewUnstartedServer(mux)
	if s.opts.Addr != "" {
		ln, err := net.Listen("tcp", s.opts.Addr)
		if err != nil {
			panic("entratest: listening on " + s.opts.Addr + ": " + err.Error())
		}
		s.srv.Listener.Close()
		s.srv.Listener = ln
	}
	s.srv.EnableHTTP2 = false
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.opts.Logger != nil {
		s.srv.Config.ErrorLog = slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn)
	}
	s.srv.StartTLS()
	return s
}

func (s *Server) fillDefaults() {
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

func (s *Server) withTenant(u User) User {
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

// publicURL is what clients call the fake: Options.PublicURL, else URL.
func (s *Server) publicURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicURLLocked()
}

// publicURLLocked is publicURL for a caller that holds s.mu.
func (s *Server) publicURLLocked() string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	return s.srv.URL
}

// Host is "127.0.0.1:port".
func (s *Server) Host() string { return strings.TrimPrefix(s.srv.URL, "https://") }

// TenantID is the fake's home tenant.
func (s *Server) TenantID() string {
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
func (s *Server) Configure(f func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.opts)
	s.fillDefaults()
	s.tenants[s.opts.TenantID] = true
}

// AddClient registers an app.
func (s *Server) AddClient(c Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.ID] = c
}

// AddUser adds an account that authorize requests can name with login_hint.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.Username] = s.withTenant(u)
}

// AddTenant makes the token endpoint accept another tenant (others get AADSTS90002).
func (s *Server) AddTenant(tenant string) {
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
func (s *Server) IssueCode(r CodeRequest) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCodeLocked(r)
}

func (s *Server) issueCodeLocked(r CodeRequest) string {
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
func (s *Server) IssueRefreshToken(clientID string, user User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user.ObjectID == "" {
		user = s.users[DefaultUser.Username]
	}
	return s.issueRefreshTokenLocked(clientID, s.withTenant(user))
}

func (s *Server) issueRefreshTokenLocked(clientID string, u User) string {
	rt := "0.A" + randomString(180)
	s.refreshTokens[rt] = &refreshToken{clientID: clientID, user: u, issued: s.now()}
	return rt
}

// RevokeRefreshTokens invalidates every refresh token issued so far.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refreshTokens {
		rt.revoked = true
	}
}

// RequireClaims makes the next token request for user (zero: DefaultUser) that carries no
// claims fail with AADSTS50076 and a claims challenge, as MFA step-up does.
func (s *Server) RequireClaims(user User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if user.ObjectID == "" {
		user = DefaultUser
	}
	s.claimsNeeded[user.ObjectID] = true
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	copy(out, s.log)
	return out
}

// TokenRequests counts the requests the token endpoint received.
func (s *Server) TokenRequests() int {
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
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

func (s *Server) record(r *http.Request, status int) {
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
