package entratest

import (
	"net/http"
	"strconv"
)

// entraError is an Entra v2.0 error body (RFC 6749 section 5.2 plus Entra's fields).
type entraError struct {
	status      int
	code        string // RFC 6749 error
	aadsts      int
	description string
	suberror    string
	claims      string
}

// Errors the fake returns, with Entra's texts.
var (
	errCodeRedeemed = entraError{400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", "", ""}
	errCodeExpired  = entraError{400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.", "", ""}
	errRTExpired    = entraError{400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on a date and was inactive for 90 days.", "bad_token", ""}
	errBadGrant     = entraError{400, "invalid_grant", 70000, "Provided grant is invalid or malformed.", "", ""}
	errVerifier     = entraError{400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.", "", ""}
	errRedirect     = entraError{400, "invalid_grant", 50148, "The redirect_uri does not match the redirect URI used when the authorization code was requested.", "", ""}
	errBadSecret    = entraError{401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.", "", ""}
	errNoSecret     = entraError{401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", "", ""}
	errNoScope      = entraError{400, "invalid_request", 90014, "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.", "", ""}
	errNoClient     = entraError{400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.", "", ""}
	errGrantType    = entraError{400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.", "", ""}
	errBadClaims    = entraError{400, "invalid_request", 90004, "Malformed JSON in the claims parameter.", "", ""}
	errClientMatch  = entraError{400, "invalid_grant", 70000, "The grant was issued to a different client.", "", ""}
)

func errTenant(t string) entraError {
	return entraError{400, "invalid_request", 90002, "Tenant '" + t + "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", "", ""}
}

// errDiscoveryTenant is what the metadata endpoints answer for a tenant they do not know.
func errDiscoveryTenant(t string) entraError {
	e := errTenant(t)
	e.code = "invalid_tenant"
	return e
}

func errThrottled(retryAfter int) entraError {
	return entraError{429, "temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop: the client came back before the " +
		strconv.Itoa(retryAfter) + " seconds its last Retry-After asked for.", "", ""}
}

func errMFA(claims string) entraError {
	return entraError{400, "invalid_grant", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.", "basic_action", claims}
}

// errorBodyLocking is errorBody for a caller that does not hold s.mu.
func (s *Handler) errorBodyLocking(r *http.Request, e entraError) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errorBody(r, e)
}

// errorBody renders e as Entra does: the description continues with trace, correlation and
// timestamp lines; the correlation ID echoes the client-request-id.
func (s *Handler) errorBody(r *http.Request, e entraError) (int, any) { // s.mu held
	now := s.now().UTC()
	trace := newUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newUUID()
	}
	ts := now.Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error": e.code,
		// Entra continues the description with trace lines, separated by CRLF.
		"error_description": "AADSTS" + strconv.Itoa(e.aadsts) + ": " + e.description +
			"\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + ts,
		"error_codes":    []int{e.aadsts},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      s.baseURLLocked(r) + "/error?code=" + strconv.Itoa(e.aadsts),
	}
	if e.suberror != "" {
		body["suberror"] = e.suberror
	}
	if e.claims != "" {
		body["claims"] = e.claims
	}
	return e.status, body
}
