package oauth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestTraceRedactsAndPassesBodiesOn(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("WWW-Authenticate", `Bearer error="x"`)
		// The answer echoes the refresh token in another member, as a hostile server might.
		_, _ = w.Write([]byte(`{"access_token":"eyJhbGciOiJub25lIn0.eyJvaWQiOiJ1c2VyLTEifQ.c2ln","refresh_token":"NEW-REFRESH-SECRET",` +
			`"note":"you sent ` + r.PostForm.Get("refresh_token") + `","client_info":"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ"}`))
	}))
	defer srv.Close()
	var out strings.Builder
	hc := &http.Client{Transport: &Trace{Out: &out, Notes: func() string { return "step one" }}}
	resp, err := hc.PostForm(srv.URL+"/t/oauth2/v2.0/token?code=QUERY-CODE-SECRET", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {"OLD-REFRESH-SECRET"}, "client_secret": {"CLIENT-SECRET-VALUE"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "NEW-REFRESH-SECRET") {
		t.Errorf("the caller did not get the body unchanged: %s", body)
	}
	trace := out.String()
	// The old and the new refresh token read differently: a rotation is visible.
	digests := regexp.MustCompile(`<refresh_token: 18 chars, (#[0-9a-f]{6})>`).FindAllStringSubmatch(trace, -1)
	if len(digests) != 2 || digests[0][1] == digests[1][1] {
		t.Errorf("the rotated refresh token is not told apart: %v", digests)
	}
	for _, secret := range []string{"OLD-REFRESH-SECRET", "NEW-REFRESH-SECRET", "CLIENT-SECRET-VALUE", "QUERY-CODE-SECRET", ".c2ln"} {
		if strings.Contains(trace, secret) {
			t.Errorf("the trace shows %s:\n%s", secret, trace)
		}
	}
	for _, want := range []string{"### step one", "--> POST ", "refresh_token=<refresh_token: 18 chars, #", "client_secret=<client_secret: 19 chars>",
		"code=<code: 17 chars, #", `"oid": "user-1"`, `"access_token (payload)"`, `"uid": "u"`, "<echoed refresh_token>", "<-- 200 OK",
		`Www-Authenticate: Bearer error="x"`} {
		if !strings.Contains(trace, want) {
			t.Errorf("the trace lacks %q:\n%s", want, trace)
		}
	}
}
