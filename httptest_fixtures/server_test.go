package entratest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

const clientID = "11111111-2222-3333-4444-555555555555"
const redirect = "http://127.0.0.1:8400/callback"

func post(t *testing.T, s *Server, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(tenant), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", "c0ffee00-0000-4000-8000-000000000000")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return resp.StatusCode, m
}

func codeForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {redirect}, "scope": {"openid https://graph.microsoft.com/.default"}, "client_info": {"1"}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

func aadsts(m map[string]any) int {
	codes, _ := m["error_codes"].([]any)
	if len(codes) == 0 {
		return 0
	}
	n, _ := codes[0].(float64)
	return int(n)
}

func TestAuthorizeRedirectsWithCodeAndState(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid offline_access"}, "state": {"st-1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	hc := s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(s.AuthorizeURL("organizations") + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "127.0.0.1:8400" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d %s", resp.StatusCode, loc)
	}
	code := loc.Query().Get("code")
	if st, m := post(t, s, "organizations", codeForm(code, "wrong"+verifier)); st != 400 || aadsts(m) != 501481 {
		t.Errorf("wrong verifier: %d %v", st, m)
	}
	st, m := post(t, s, "organizations", codeForm(code, verifier))
	if st != 200 || m["access_token"] == nil || m["refresh_token"] == nil || m["id_token"] == nil || m["client_info"] == nil {
		t.Fatalf("redemption: %d %v", st, m)
	}
	if st, m := post(t, s, "organizations", codeForm(code, verifier)); st != 400 || aadsts(m) != 54005 {
		t.Errorf("second redemption: %d %v", st, m)
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	t.Parallel()
	s := NewServer(&Options{RequirePKCE: true})
	defer s.Close()
	s.AddClient(Client{ID: "registered", RedirectURIs: []string{"https://app.example/cb"}})
	hc := s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(q url.Values) (int, url.Values) {
		resp, err := hc.Get(s.AuthorizeURL("common") + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return resp.StatusCode, loc.Query()
	}
	base := func() url.Values {
		return url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"x"}}
	}
	if st, q := get(base()); st != 302 || q.Get("error") != "invalid_request" {
		t.Errorf("PKCE required: %d %v", st, q)
	}
	q := base()
	q.Set("code_challenge", strings.Repeat("a", 43))
	q.Set("code_challenge_method", "plain")
	if st, qq := get(q); st != 302 || !strings.Contains(qq.Get("error_description"), "S256") {
		t.Errorf("plain method: %d %v", st, qq)
	}
	q = base()
	q.Set("client_id", "registered")
	if st, _ := get(q); st != 400 {
		t.Errorf("unregistered redirect URI must not redirect: %d", st)
	}
	q = base()
	q.Set("redirect_uri", "http://evil.example/cb")
	if st, _ := get(q); st != 400 {
		t.Errorf("non-loopback http redirect URI: %d", st)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := now
	s := NewServer(&Options{StrictRotation: true, Now: func() time.Time { return clock }})
	defer s.Close()
	s.AddClient(Client{ID: "conf", Secret: "right"})

	if st, m := post(t, s, "no-such-tenant", codeForm("x", "")); st != 400 || aadsts(m) != 90002 {
		t.Errorf("unknown tenant: %d %v", st, m)
	}
	f := codeForm(s.IssueCode(CodeRequest{ClientID: "conf", RedirectURI: redirect, Scopes: []string{"x"}}), "")
	f.Set("client_id", "conf")
	f.Set("client_secret", "wrong")
	if st, m := post(t, s, "common", f); st != 401 || aadsts(m) != 7000215 || m["error"] != "invalid_client" {
		t.Errorf("bad secret: %d %v", st, m)
	}
	code := s.IssueCode(CodeRequest{ClientID: clientID, RedirectURI: redirect})
	clock = now.Add(11 * time.Minute)
	if st, m := post(t, s, "common", codeForm(code, "")); st != 400 || aadsts(m) != 70008 {
		t.Errorf("expired code: %d %v", st, m)
	}
	clock = now
	f = codeForm(s.IssueCode(CodeRequest{ClientID: clientID, RedirectURI: "http://localhost/other"}), "")
	if st, m := post(t, s, "common", f); st != 400 || aadsts(m) != 50148 {
		t.Errorf("redirect mismatch: %d %v", st, m)
	}

	rt := s.IssueRefreshToken(clientID, User{})
	rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}, "scope": {"a"}}
	st, m := post(t, s, "common", rf)
	if st != 200 || m["refresh_token"] == rt || m["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", st, m)
	}
	if st, m := post(t, s, "common", rf); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("strict rotation must reject the old token: %d %v", st, m)
	}
	rf.Set("refresh_token", m["refresh_token"].(string))
	clock = now.Add(25 * time.Hour)
	if st, m := post(t, s, "common", rf); st != 400 || aadsts(m) != 700082 {
		t.Errorf("expired refresh token: %d %v", st, m)
	}
	clock = now

	s.RequireClaims(User{})
	rf.Set("refresh_token", s.IssueRefreshToken(clientID, User{}))
	st, m = post(t, s, "common", rf)
	if st != 400 || aadsts(m) != 50076 || m["claims"] != ChallengeClaims || m["suberror"] != "basic_action" {
		t.Errorf("claims challenge: %d %v", st, m)
	}
	if d, _ := m["error_description"].(string); !strings.Contains(d, "\r\nTrace ID: ") || m["correlation_id"] != "c0ffee00-0000-4000-8000-000000000000" {
		t.Errorf("error body lacks Entra's trace lines or the echoed correlation ID: %v", m)
	}
	rf.Set("claims", ChallengeClaims)
	if st, m := post(t, s, "common", rf); st != 200 {
		t.Errorf("answer with claims: %d %v", st, m)
	}
}

func TestTokensAreSignedAndCarryLifetimes(t *testing.T) {
	t.Parallel()
	s := NewServer(&Options{AccessTokenLifetime: 2 * time.Hour, RefreshIn: 30 * time.Minute, ExpiresInAsString: true})
	defer s.Close()
	rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {s.IssueRefreshToken(clientID, User{})},
		"scope": {"openid https://vault.azure.net/.default"}, "client_info": {"1"},
		"claims": {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`}}
	st, m := post(t, s, "common", rf)
	if st != 200 || m["expires_in"] != "7200" || m["refresh_in"] != "1800" {
		t.Fatalf("%d %v", st, m)
	}
	at := m["access_token"].(string)
	parts := strings.Split(at, ".")
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if err := rsa.VerifyPKCS1v15(PublicKey(), crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("access token signature: %v", err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["aud"] != "https://vault.azure.net" || claims["oid"] != DefaultUser.ObjectID || claims["xms_cc"] == nil {
		t.Errorf("claims = %v", claims)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(m["client_info"].(string))
	if string(ci) != `{"uid":"`+DefaultUser.ObjectID+`","utid":"`+DefaultTenantID+`"}` {
		t.Errorf("client_info = %s", ci)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	rf := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {s.IssueRefreshToken(clientID, User{})}, "scope": {"a"}}
	do := func() (*http.Response, error) {
		return s.Client().PostForm(s.TokenURL("common"), rf)
	}
	s.FailNext(Fault{Status: 429, Header: http.Header{"Retry-After": {"3"}}, Times: 2})
	for i := 0; i < 2; i++ {
		resp, err := do()
		if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("fault %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	s.FailNext(Fault{Status: 502, Body: "<html>Bad Gateway</html>", ContentType: "text/html"})
	resp, _ := do()
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || string(b) != "<html>Bad Gateway</html>" {
		t.Errorf("HTML fault: %d %q", resp.StatusCode, b)
	}
	s.FailNext(Fault{TruncateAfter: 10})
	resp, err := do()
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: err = %v", err)
	}
	s.FailNext(Fault{Reset: true})
	if _, err := do(); err == nil {
		t.Error("reset: no error")
	}
	resp, err = do()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the faults: %v %v", resp, err)
	}
	resp.Body.Close()
	if n := s.TokenRequests(); n != 6 {
		t.Errorf("TokenRequests = %d, want 6", n)
	}
}

func TestClientCredentialsAndDiscovery(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	s.AddClient(Client{ID: "daemon", Secret: "s3cret"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"daemon"}, "client_secret": {"s3cret"}, "scope": {"https://graph.microsoft.com/.default"}}
	st, m := post(t, s, s.TenantID(), form)
	if st != 200 || m["access_token"] == nil || m["refresh_token"] != nil || m["id_token"] != nil {
		t.Errorf("client credentials: %d %v", st, m)
	}
	form.Set("client_id", "public-app")
	if st, m := post(t, s, s.TenantID(), form); st != 401 || aadsts(m) != 7000218 {
		t.Errorf("public client: %d %v", st, m)
	}
	resp, err := s.Client().Get(s.URL() + "/" + s.TenantID() + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var disc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	if disc["issuer"] != s.URL()+"/"+s.TenantID()+"/v2.0" || disc["token_endpoint"] != s.TokenURL(s.TenantID()) {
		t.Errorf("discovery = %v", disc)
	}
}

// The fake's own errors (a client that breaks off a TLS handshake) go to its Logger, never to
// the standard logger that tests share.
func TestServerErrorsGoToItsOwnLogger(t *testing.T) {
	var std, own bytes.Buffer
	log.SetOutput(&std)
	defer log.SetOutput(os.Stderr)
	quiet := NewServer(nil)
	loud := NewServer(&Options{Logger: slog.New(slog.NewTextHandler(&own, nil))})
	for _, s := range []*Server{quiet, loud} {
		resp, err := http.Get("http://" + s.Host() + "/") // plain HTTP to a TLS port: a failed handshake
		if err == nil {
			resp.Body.Close()
		}
		s.Close() // waits for the connection's goroutine, and its log line
	}
	if std.Len() != 0 {
		t.Errorf("the standard logger got %q", std.String())
	}
	if !strings.Contains(own.String(), "TLS handshake") {
		t.Errorf("the fake's logger got %q", own.String())
	}
}
