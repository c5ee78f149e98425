package entratest

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// These tests hold the fake to what Entra does where the reference clients showed it was
// lenient (comparison with azure-identity and @azure/identity).

// claimsOf decodes a JWT's payload, unverified.
func claimsOf(t *testing.T, jwt any) map[string]any {
	t.Helper()
	s, _ := jwt.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", s)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func refreshForm(rt, scope string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}, "scope": {scope}, "client_info": {"1"}}
}

// Tokens name the tenant of the request path in tid and iss; the multi-tenant aliases give the
// user's home tenant. client_info names the home account either way.
func TestTokensNameTheTenantOfTheRequest(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	const guest = "0a1b2c3d-0000-4000-8000-00000000beef"
	s.AddTenant(guest)
	for _, tc := range []struct{ path, want string }{
		{guest, guest}, {s.TenantID(), s.TenantID()}, {"organizations", s.TenantID()}, {"common", s.TenantID()}, {"consumers", s.TenantID()},
	} {
		st, m := post(t, s, tc.path, refreshForm(s.IssueRefreshToken(clientID, User{}), "openid https://graph.microsoft.com/.default"))
		if st != 200 {
			t.Fatalf("%s: %d %v", tc.path, st, m)
		}
		for _, name := range []string{"access_token", "id_token"} {
			c := claimsOf(t, m[name])
			if c["tid"] != tc.want || c["iss"] != s.URL()+"/"+tc.want+"/v2.0" {
				t.Errorf("a request to /%s: %s tid %v, iss %v; want %s", tc.path, name, c["tid"], c["iss"], tc.want)
			}
		}
		ci, _ := base64.RawURLEncoding.DecodeString(m["client_info"].(string))
		if !strings.Contains(string(ci), `"utid":"`+s.TenantID()+`"`) {
			t.Errorf("a request to /%s: client_info %s does not name the home tenant", tc.path, ci)
		}
	}
}

// The CAE capability is matched as Entra matches it, whatever its case.
func TestCAECapabilityIgnoresCase(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	for _, cp := range []string{"CP1", "cp1", "Cp1"} {
		f := refreshForm(s.IssueRefreshToken(clientID, User{}), "https://graph.microsoft.com/.default")
		f.Set("claims", `{"access_token":{"xms_cc":{"values":["`+cp+`"]}}}`)
		st, m := post(t, s, "common", f)
		if st != 200 || claimsOf(t, m["access_token"])["xms_cc"] == nil {
			t.Errorf("capability %q: %d, xms_cc %v", cp, st, claimsOf(t, m["access_token"])["xms_cc"])
		}
	}
	f := refreshForm(s.IssueRefreshToken(clientID, User{}), "https://graph.microsoft.com/.default")
	f.Set("claims", `{"access_token":{"xms_cc":{"values":["CP2"]}}}`)
	if _, m := post(t, s, "common", f); claimsOf(t, m["access_token"])["xms_cc"] != nil {
		t.Error("another capability was taken for CP1")
	}
}

// The metadata endpoints answer an unknown tenant as Entra does: 400 invalid_tenant,
// AADSTS90002.
func TestMetadataOfAnUnknownTenant(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	for _, path := range []string{"/v2.0/.well-known/openid-configuration", "/discovery/v2.0/keys"} {
		for tenant, want := range map[string]int{"no-such-tenant": 400, s.TenantID(): 200, "organizations": 200} {
			resp, err := s.Client().Get(s.URL() + "/" + tenant + path)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%s%s: %d, want %d", tenant, path, resp.StatusCode, want)
			}
			if want == 400 && (m["error"] != "invalid_tenant" || aadsts(m) != 90002) {
				t.Errorf("%s%s: %v, want invalid_tenant AADSTS90002", tenant, path, m)
			}
		}
	}
}

// A refresh token comes only when offline_access was asked for, in the code's authorize
// request or the token request; a refresh grant always brings the next one.
func TestRefreshTokensOnlyWithOfflineAccess(t *testing.T) {
	t.Parallel()
	s := NewServer(nil)
	defer s.Close()
	redeem := func(s *Server, codeScopes []string, scope string) map[string]any {
		f := codeForm(s.IssueCode(CodeRequest{ClientID: clientID, RedirectURI: redirect, Scopes: codeScopes}), "")
		f.Set("scope", scope)
		st, m := post(t, s, "common", f)
		if st != 200 {
			t.Fatalf("%d %v", st, m)
		}
		return m
	}
	graph := "https://graph.microsoft.com/.default"
	if m := redeem(s, []string{"openid", graph}, graph); m["refresh_token"] != nil {
		t.Error("a refresh token without offline_access")
	}
	if m := redeem(s, []string{"openid", "offline_access", graph}, graph); m["refresh_token"] == nil {
		t.Error("no refresh token though the authorize request asked for offline_access")
	}
	m := redeem(s, []string{"openid", graph}, "offline_access "+graph)
	if m["refresh_token"] == nil {
		t.Fatal("no refresh token though the token request asked for offline_access")
	}
	if st, m := post(t, s, "common", refreshForm(m["refresh_token"].(string), graph)); st != 200 || m["refresh_token"] == nil {
		t.Errorf("a refresh grant without offline_access in its scope: %d, refresh token %v", st, m["refresh_token"])
	}
	old := NewServer(&Options{AlwaysIssueRefreshTokens: true})
	defer old.Close()
	if m := redeem(old, []string{graph}, graph); m["refresh_token"] == nil {
		t.Error("AlwaysIssueRefreshTokens issued none")
	}
}

// A .default scope is expanded to the consented permissions (configurable per resource), and
// offline_access is never echoed in the response's scope.
func TestDefaultScopeIsExpandedToConsent(t *testing.T) {
	t.Parallel()
	s := NewServer(&Options{Consent: map[string][]string{"https://vault.azure.net": {"user_impersonation", "secrets.read"}}})
	defer s.Close()
	for _, tc := range []struct{ scope, scp, granted string }{
		{"openid offline_access https://graph.microsoft.com/.default", "User.Read", "openid https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default"},
		{"https://management.core.windows.net//.default offline_access", "user_impersonation", "https://management.core.windows.net//user_impersonation https://management.core.windows.net//.default"},
		{"https://vault.azure.net/.default", "user_impersonation secrets.read", "https://vault.azure.net/user_impersonation https://vault.azure.net/secrets.read https://vault.azure.net/.default"},
		{"offline_access https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read", "Mail.Read User.Read", "https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read"},
	} {
		st, m := post(t, s, "common", refreshForm(s.IssueRefreshToken(clientID, User{}), tc.scope))
		if st != 200 {
			t.Fatalf("%q: %d %v", tc.scope, st, m)
		}
		if scp := claimsOf(t, m["access_token"])["scp"]; scp != tc.scp {
			t.Errorf("%q: scp %q, want %q", tc.scope, scp, tc.scp)
		}
		if m["scope"] != tc.granted {
			t.Errorf("%q: scope %q, want %q", tc.scope, m["scope"], tc.granted)
		}
	}
}

// In the throttling mode a client that comes back before its Retry-After is up gets 429 with
// the wait left; one that waits is served.
func TestThrottlingModeRefusesImpatientClients(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := now
	s := NewServer(&Options{Throttle: true, Now: func() time.Time { return clock }})
	defer s.Close()
	rt := s.IssueRefreshToken(clientID, User{})
	do := func() (int, string) {
		resp, err := s.Client().PostForm(s.TokenURL("common"), refreshForm(rt, "a"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	s.FailNext(Fault{Status: 429, Header: http.Header{"Retry-After": {"5"}}})
	if st, ra := do(); st != 429 || ra != "5" {
		t.Fatalf("the fault: %d %q", st, ra)
	}
	clock = now.Add(2 * time.Second)
	if st, ra := do(); st != 429 || ra != "3" || s.ThrottledRequests() != 1 {
		t.Errorf("back after 2 s of 5: %d, Retry-After %q, %d throttled", st, ra, s.ThrottledRequests())
	}
	clock = clock.Add(3 * time.Second)
	if st, _ := do(); st != 200 || s.ThrottledRequests() != 1 {
		t.Errorf("back after the wait: %d, %d throttled", st, s.ThrottledRequests())
	}
	// Without the mode, impatience is not punished.
	lax := NewServer(&Options{Now: func() time.Time { return now }})
	defer lax.Close()
	lax.FailNext(Fault{Status: 503, Header: http.Header{"Retry-After": {"60"}}})
	for i, want := range []int{503, 200} {
		resp, _ := lax.Client().PostForm(lax.TokenURL("common"), refreshForm(lax.IssueRefreshToken(clientID, User{}), "a"))
		if resp.StatusCode != want {
			t.Errorf("lax request %d: %d, want %d", i, resp.StatusCode, want)
		}
		resp.Body.Close()
	}
}

// The fake mounts on a server of the caller's, under a path prefix, with its own TLS
// configuration; its issuer is PublicURL, or the scheme and host of the request.
func TestHandlerMountsOnTheCallersServer(t *testing.T) {
	t.Parallel()
	h := NewHandler(nil)
	mux := http.NewServeMux()
	mux.Handle("/entra/", http.StripPrefix("/entra", h))
	mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("the app")) })
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	srv.StartTLS()
	defer srv.Close()

	get := func(path string) map[string]any {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
			t.Error("not served with the caller's TLS configuration")
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	tenant := DefaultTenantID
	if iss := get("/entra/" + tenant + "/v2.0/.well-known/openid-configuration")["issuer"]; iss != srv.URL+"/"+tenant+"/v2.0" {
		t.Errorf("issuer from the request = %v", iss)
	}
	h.Configure(func(o *Options) { o.PublicURL = srv.URL + "/entra" })
	disc := get("/entra/" + tenant + "/v2.0/.well-known/openid-configuration")
	if disc["token_endpoint"] != srv.URL+"/entra/"+tenant+"/oauth2/v2.0/token" {
		t.Fatalf("token endpoint with PublicURL = %v", disc["token_endpoint"])
	}
	resp, err := srv.Client().PostForm(disc["token_endpoint"].(string), refreshForm(h.IssueRefreshToken(clientID, User{}), "openid https://graph.microsoft.com/.default"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || claimsOf(t, m["id_token"])["iss"] != srv.URL+"/entra/"+tenant+"/v2.0" || h.TokenRequests() != 1 {
		t.Errorf("a token through the mounted handler: %d %v (%d token requests)", resp.StatusCode, m, h.TokenRequests())
	}
	if r, err := srv.Client().Get(srv.URL + "/app"); err != nil || r.StatusCode != 200 {
		t.Errorf("the caller's own route: %v %v", r, err)
	} else {
		r.Body.Close()
	}
}
