package oauth

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseToken: any body either parses into a usable token or gives ErrMalformedResponse;
// it never panics, and an accepted access token is always a header-safe b64token.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		`{"access_token":"a.b.c","token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"refresh_token":"0.AX","id_token":"x.y.z","client_info":"eyJ1aWQiOiJ1In0"}`,
		`{"access_token":"a","expires_in":"3600","refresh_in":"1800"}`,
		`{"access_token":"a","expires_on":1999999999}`,
		`{"access_token":"a","expires_in":-1}`, `{"access_token":"a","expires_in":1e309}`, `[]`, `null`, ``, `{"access_token":"a\u0000"}`,
		`{"access_token":"a","access_token":"b","expires_in":1}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		tok, err := ParseToken(body, now)
		if err != nil {
			return
		}
		if !IsBearerToken(tok.AccessToken) || strings.ContainsAny(tok.RefreshToken, "\r\n\x00 ") {
			t.Fatalf("accepted unsafe token %q", tok.AccessToken)
		}
		if !tok.ExpiresOn.IsZero() && (!tok.ExpiresOn.After(now) || tok.ExpiresOn.Sub(now) > MaxLifetime) {
			t.Fatalf("accepted implausible expiry %v", tok.ExpiresOn)
		}
	})
}

// FuzzFinish: any status and body become a token or a *RetrieveError whose message never
// quotes the body.
func FuzzFinish(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS70008: x\r\nTrace ID: y"}`))
	f.Add(502, []byte(`<html>SECRETBODY</html>`))
	f.Add(200, []byte(`{"access_token":"SECRETBODY","expires_in":1}`))
	f.Add(307, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		tok, err := finish(status, nil, body, "id", time.Unix(1_700_000_000, 0))
		if err == nil {
			if tok == nil || status != 200 {
				t.Fatalf("status %d gave a token", status)
			}
			return
		}
		re, ok := err.(*RetrieveError)
		if !ok {
			t.Fatalf("err is %T", err)
		}
		if strings.Contains(err.Error(), "SECRETBODY") && !strings.Contains(re.ErrorCode+re.Description, "SECRETBODY") {
			t.Fatalf("message quotes the body: %s", err)
		}
	})
}
