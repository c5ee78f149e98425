package entratest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authorize approves every valid request at once, as if the user had signed in and consented,
// and redirects to redirect_uri with a code (RFC 6749 section 4.1.2) or an error (4.1.2.1).
func (s *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	q := r.URL.Query()
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	s.mu.Lock()
	tenantOK := s.tenants[r.PathValue("tenant")]
	client, registered := s.clients[clientID]
	requirePKCE := s.opts.RequirePKCE
	s.mu.Unlock()

	// Problems that must not redirect: the redirect URI itself is untrusted.
	fail := func(msg string) {
		s.record(r, http.StatusBadRequest)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><h1>Sign in failed</h1><p>" + htmlEscape(msg) + "</p></body></html>"))
	}
	switch {
	case !tenantOK:
		fail("AADSTS90002: Tenant '" + r.PathValue("tenant") + "' not found.")
		return
	case clientID == "":
		fail("AADSTS900144: The request body must contain the following parameter: 'client_id'.")
		return
	case !redirectAllowed(client, registered, redirectURI):
		fail("AADSTS50011: The redirect URI '" + redirectURI + "' specified in the request does not match the redirect URIs configured for the application '" + clientID + "'.")
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(redirectURI)
		qq := u.Query()
		for k, v := range params {
			qq[k] = v
		}
		if st := q.Get("state"); st != "" {
			qq.Set("state", st)
		}
		u.RawQuery = qq.Encode()
		s.record(r, http.StatusFound)
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	deny := func(code, desc string) { back(url.Values{"error": {code}, "error_description": {desc}}) }
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case q.Get("response_type") != "code":
		deny("unsupported_response_type", "AADSTS700054: response_type 'code' is required.")
		return
	case q.Get("scope") == "":
		deny("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.")
		return
	case challenge != "" && method != "S256":
		deny("invalid_request", "AADSTS501491: Invalid code_challenge_method: only S256 is supported.")
		return
	case challenge != "" && len(challenge) != 43:
		deny("invalid_request", "AADSTS501481: The code_challenge is malformed.")
		return
	case challenge == "" && requirePKCE:
		deny("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	s.mu.Lock()
	user, ok := s.users[q.Get("login_hint")]
	if !ok {
		user = s.users[DefaultUser.Username]
	}
	c := s.issueCodeLocked(CodeRequest{ClientID: clientID, RedirectURI: redirectURI, Scopes: strings.Fields(q.Get("scope")),
		CodeChallenge: challenge, User: user, Nonce: q.Get("nonce")})
	s.mu.Unlock()
	back(url.Values{"code": {c}})
}

func redirectAllowed(c Client, registered bool, uri string) bool {
	if uri == "" {
		return false
	}
	if registered && len(c.RedirectURIs) > 0 {
		return slices.Contains(c.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" {
		return false
	}
	if u.Scheme == "https" && u.Host != "" {
		return true
	}
	h := u.Hostname()
	return u.Scheme == "http" && (h == "127.0.0.1" || h == "localhost" || h == "::1")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
