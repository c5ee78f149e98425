package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChallengeClaims is the claims challenge RequireClaims makes the token endpoint send.
const ChallengeClaims = `{"access_token":{"capolids":{"essential":true,"values":["c1a1b2c3-0000-4000-8000-000000000001"]}}}`

// token is the token endpoint: faults first, then the grant.
func (s *Handler) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	if wait := s.throttle(r); wait > 0 {
		status, body := s.errorBodyLocking(r, errThrottled(wait))
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		s.writeJSON(w, r, status, body)
		return
	}
	f := s.popFault()
	if f != nil {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				s.record(r, 0)
				return
			}
		}
		switch {
		case f.Hang:
			s.record(r, 0)
			<-r.Context().Done()
			return
		case f.Reset:
			s.record(r, 0)
			reset(w)
			return
		case f.Status != 0:
			s.record(r, f.Status)
			s.noteRetryAfter(r, f.Header)
			s.writeFault(w, r, f)
			return
		}
	}
	status, body := s.grant(r)
	b, _ := json.Marshal(body)
	s.record(r, status)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("x-ms-request-id", newUUID())
	if id := r.Header.Get("client-request-id"); id != "" && r.Header.Get("return-client-request-id") == "true" {
		h.Set("client-request-id", id)
	}
	if f != nil && f.TruncateAfter > 0 && f.TruncateAfter < len(b) {
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		_, _ = w.Write(b[:f.TruncateAfter])
		w.(http.Flusher).Flush()
		reset(w)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeJSON answers a non-token endpoint.
func (s *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	s.record(r, status)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// grant checks the request as Entra does and issues tokens, or returns an Entra error body.
func (s *Handler) grant(r *http.Request) (int, any) {
	tenant := r.PathValue("tenant")
	form := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.tenants[tenant] {
		return s.errorBody(r, errTenant(tenant))
	}
	clientID := form.Get("client_id")
	if clientID == "" {
		return s.errorBody(r, errNoClient)
	}
	if c, ok := s.clients[clientID]; ok && c.Secret != "" {
		switch sec := form.Get("client_secret"); {
		case sec == "":
			return s.errorBody(r, errNoSecret)
		case sec != c.Secret:
			return s.errorBody(r, errBadSecret)
		}
	}
	scope := form.Get("scope")
	if scope == "" {
		return s.errorBody(r, errNoScope)
	}
	claims := form.Get("claims")
	var claimsObj map[string]json.RawMessage
	if claims != "" && (json.Unmarshal([]byte(claims), &claimsObj) != nil || claimsObj == nil) {
		return s.errorBody(r, errBadClaims)
	}
	is := issue{clientID: clientID, scope: scope, clientInfo: form.Get("client_info") == "1", cae: hasCP1(claimsObj), now: now, base: s.baseURLLocked(r),
		refresh: s.opts.AlwaysIssueRefreshTokens || slices.Contains(strings.Fields(scope), "offline_access")}
	var finish func()
	switch form.Get("grant_type") {
	case "authorization_code":
		c := s.codes[form.Get("code")]
		switch {
		case c == nil:
			return s.errorBody(r, errBadGrant)
		case c.redeemed:
			return s.errorBody(r, errCodeRedeemed)
		case now.Sub(c.issued) > s.opts.CodeLifetime:
			return s.errorBody(r, errCodeExpired)
		case c.clientID != clientID:
			return s.errorBody(r, errClientMatch)
		case c.redirectURI != form.Get("redirect_uri"):
			return s.errorBody(r, errRedirect)
		case c.challenge != "" && s256(form.Get("code_verifier")) != c.challenge:
			return s.errorBody(r, errVerifier)
		}
		is.user, is.idScopes, is.nonce = c.user, c.scopes, c.nonce
		// The user consented to offline access when the app asked for it in either request.
		is.refresh = is.refresh || slices.Contains(c.scopes, "offline_access")
		finish = func() { c.redeemed = true }
	case "refresh_token":
		rt := s.refreshTokens[form.Get("refresh_token")]
		switch {
		case rt == nil || rt.revoked:
			return s.errorBody(r, errBadGrant)
		case rt.clientID != clientID:
			return s.errorBody(r, errClientMatch)
		case now.Sub(rt.issued) > s.opts.RefreshTokenLifetime:
			return s.errorBody(r, errRTExpired)
		case rt.used && s.opts.StrictRotation:
			return s.errorBody(r, errBadGrant)
		}
		is.user = rt.user
		is.refresh = true // a refresh token carries the offline access it was issued for
		finish = func() { rt.used = true }
	case "client_credentials":
		// The app acts as itself: only registered confidential clients (checked above), no user,
		// no refresh token, no id_token.
		if c, ok := s.clients[clientID]; !ok || c.Secret == "" {
			return s.errorBody(r, errNoSecret)
		}
		is.user = User{ObjectID: "app-" + clientID, TenantID: s.opts.TenantID}
		is.tenant, is.refresh, is.clientInfo, is.nonce = tokenTenant(tenant, is.user), false, false, ""
		resp := s.tokenResponse(is)
		delete(resp, "id_token")
		return http.StatusOK, resp
	default:
		return s.errorBody(r, errGrantType)
	}
	if s.claimsNeeded[is.user.ObjectID] {
		// Only claims that carry the challenge's requirements answer it; the CAE capability
		// claim (xms_cc) alone does not.
		if !answersChallenge(claimsObj) {
			return s.errorBody(r, errMFA(ChallengeClaims))
		}
		delete(s.claimsNeeded, is.user.ObjectID)
	}
	finish()
	is.tenant = tokenTenant(tenant, is.user)
	return http.StatusOK, s.tokenResponse(is)
}

// tokenTenant is the tenant a token is issued in: the tenant of the request path, or the user's
// home tenant for the multi-tenant aliases.
func tokenTenant(path string, u User) string {
	switch strings.ToLower(path) {
	case "organizations", "common", "consumers":
		return u.TenantID
	}
	return path
}

// issue is what a token response is made of.
type issue struct {
	clientID, scope, nonce string
	tenant                 string // the tenant the tokens are issued in (tid, iss)
	base                   string // the fake's URL as the client calls it
	idScopes               []string
	user                   User
	clientInfo, cae        bool
	refresh                bool // issue a refresh token
	now                    time.Time
}

func (s *Handler) tokenResponse(is issue) map[string]any {
	o := s.opts
	u := is.user
	exp := is.now.Add(o.AccessTokenLifetime)
	sub := pairwise(u.ObjectID, is.clientID)
	scopes := strings.Fields(is.scope)
	granted := s.grantedScopes(scopes)
	iss := is.base + "/" + is.tenant + "/v2.0"
	at := map[string]any{
		"aud": audience(scopes), "iss": iss, "iat": is.now.Unix(), "nbf": is.now.Unix(),
		"exp": exp.Unix(), "azp": is.clientID, "oid": u.ObjectID, "tid": is.tenant, "sub": sub, "ver": "2.0",
		"scp": permissionNames(granted), "name": u.Name, "preferred_username": u.Username, "uti": randomString(22),
	}
	if is.cae {
		at["xms_cc"] = []string{"CP1"}
	}
	resp := map[string]any{"token_type": "Bearer", "scope": strings.Join(granted, " "), "access_token": signJWT(at)}
	secs := func(d time.Duration) any {
		if o.ExpiresInAsString {
			return strconv.FormatInt(int64(d/time.Second), 10)
		}
		return int64(d / time.Second)
	}
	switch {
	case o.OmitExpiry:
	case o.ExpiresOn:
		resp["expires_on"] = exp.Unix()
	default:
		resp["expires_in"] = secs(o.AccessTokenLifetime)
		resp["ext_expires_in"] = secs(o.AccessTokenLifetime)
	}
	if o.RefreshIn > 0 {
		resp["refresh_in"] = secs(o.RefreshIn)
	}
	if is.refresh && !o.NoRefreshToken {
		resp["refresh_token"] = s.issueRefreshTokenLocked(is.clientID, u)
	}
	if is.clientInfo && !o.NoClientInfo {
		// client_info names the home account, whatever tenant the tokens are issued in.
		ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	if slices.Contains(scopes, "openid") || slices.Contains(is.idScopes, "openid") {
		id := map[string]any{
			"aud": is.clientID, "iss": iss, "iat": is.now.Unix(), "nbf": is.now.Unix(),
			"exp": is.now.Add(time.Hour).Unix(), "sub": sub, "oid": u.ObjectID, "tid": is.tenant,
			"preferred_username": u.Username, "name": u.Name, "ver": "2.0",
		}
		if is.nonce != "" { // OpenID Connect Core section 2: the authorize request's nonce, echoed
			id["nonce"] = is.nonce
		}
		resp["id_token"] = signJWT(id)
	}
	return resp
}

func hasCP1(claims map[string]json.RawMessage) bool {
	var at struct {
		XMSCC struct {
			Values []string `json:"values"`
		} `json:"xms_cc"`
	}
	// Clients spell the capability "CP1" (MSAL for Python, Go) or "cp1" (@azure/identity,
	// Microsoft.Identity.Web); Entra takes either.
	return claims != nil && json.Unmarshal(claims["access_token"], &at) == nil &&
		slices.ContainsFunc(at.XMSCC.Values, func(v string) bool { return strings.EqualFold(v, "CP1") })
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func pairwise(oid, clientID string) string {
	sum := sha256.Sum256([]byte(oid + "|" + clientID))
	return base64.RawURLEncoding.EncodeToString(sum[:20])
}

// audience is the resource of the first resource scope:
// "https://graph.microsoft.com/.default" -> "https://graph.microsoft.com"; Microsoft Graph's
// application ID when there is none.
func audience(scopes []string) string {
	for _, sc := range scopes {
		if i := strings.LastIndex(sc, "/"); i > 0 && strings.Contains(sc, "://") {
			return sc[:i]
		}
	}
	return "00000003-0000-0000-c000-000000000000"
}

// graphIDs name Microsoft Graph as a resource.
var graphIDs = []string{"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}

// grantedScopes is the scope a response names, as Entra's does: a resource's .default expanded
// to the permissions consented for it (Options.Consent) and kept, the OpenID scopes requested
// other than offline_access (which Entra never returns), the rest as requested.
func (s *Handler) grantedScopes(requested []string) []string {
	var out []string
	add := func(sc string) {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	for _, sc := range requested {
		switch sc {
		case "offline_access":
			continue
		case "openid", "profile", "email":
			add(sc)
			continue
		}
		resource, ok := strings.CutSuffix(sc, "/.default")
		if !ok {
			add(sc)
			continue
		}
		for _, p := range s.consented(resource) {
			add(resource + "/" + p)
		}
		add(sc)
	}
	return out
}

// consented is what a .default request of resource is granted: Options.Consent's entry, else
// User.Read for Microsoft Graph and user_impersonation for any other resource.
func (s *Handler) consented(resource string) []string {
	if p, ok := s.opts.Consent[resource]; ok {
		return p
	}
	if slices.Contains(graphIDs, strings.ToLower(resource)) {
		return []string{"User.Read"}
	}
	return []string{"user_impersonation"}
}

// permissionNames is an access token's scp: the permission names of the granted resource
// scopes, without their resource, .default and the OpenID scopes.
func permissionNames(granted []string) string {
	var names []string
	for _, sc := range granted {
		if i := strings.LastIndex(sc, "/"); i >= 0 {
			sc = sc[i+1:]
		}
		switch sc {
		case "openid", "profile", "offline_access", "email", ".default":
			continue
		}
		names = append(names, sc)
	}
	return strings.Join(names, " ")
}

// answersChallenge reports whether request claims include every access_token member of
// ChallengeClaims.
func answersChallenge(claims map[string]json.RawMessage) bool {
	var want, got map[string]json.RawMessage
	var challenge map[string]json.RawMessage
	_ = json.Unmarshal([]byte(ChallengeClaims), &challenge)
	_ = json.Unmarshal(challenge["access_token"], &want)
	if claims == nil || json.Unmarshal(claims["access_token"], &got) != nil {
		return false
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			return false
		}
	}
	return true
}
