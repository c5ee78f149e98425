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

// A Location fragment's secrets are redacted as a query's are, and a member whose name differs
// from a secret's only in case is redacted too.
func TestTraceRedactsFragmentsAndCaseVariants(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bad":
			w.Header().Set("Location", "https://app.example/cb#%zz-FRAGMENT-SECRET")
		case "/odd":
			w.Header().Set("Location", "https://app.example/cb#x;ODD-FRAGMENT-SECRET")
		default:
			w.Header().Set("Location", "https://app.example/cb?state=s1#code=FRAGMENT-CODE-SECRET&access_token=FRAGMENT-AT-SECRET&state=s1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"Access_Token":"CASE-AT-SECRET","REFRESH_TOKEN":"CASE-RT-SECRET","token_type":"Bearer"}`))
	}))
	defer srv.Close()
	var out strings.Builder
	hc := &http.Client{Transport: &Trace{Out: &out}}
	for _, path := range []string{"/good", "/bad", "/odd"} {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	trace := out.String()
	for _, secret := range []string{"FRAGMENT-CODE-SECRET", "FRAGMENT-AT-SECRET", "FRAGMENT-SECRET", "ODD-FRAGMENT-SECRET", "CASE-AT-SECRET", "CASE-RT-SECRET"} {
		if strings.Contains(trace, secret) {
			t.Errorf("the trace shows %s:\n%s", secret, trace)
		}
	}
	for _, want := range []string{"#access_token=<access_token: 18 chars, #", "&code=<code: 20 chars, #", "&state=s1",
		"<location that does not parse: 42 chars>", "cb#<fragment: 21 chars>", `"Access_Token": "<Access_Token: 14 chars, #`, `"token_type": "Bearer"`} {
		if !strings.Contains(trace, want) {
			t.Errorf("the trace lacks %q:\n%s", want, trace)
		}
	}
}

// The tracer never changes what it passes on: a body longer than it shows reaches the caller
// whole, and closing it closes the original.
func TestTracePassesLongBodiesOnWhole(t *testing.T) {
	t.Parallel()
	const size = maxTracedBody + 1<<16 + 7
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := []byte(strings.Repeat("0123456789abcdef", 1024))
		for n := 0; n < size; {
			m := min(len(chunk), size-n)
			_, _ = w.Write(chunk[:m])
			n += m
		}
	}))
	defer srv.Close()
	var out strings.Builder
	hc := &http.Client{Transport: &Trace{Out: &out}}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if len(body) != size {
		t.Fatalf("the caller got %d bytes of %d", len(body), size)
	}
	for i := 0; i < size; i += 4099 {
		if body[i] != "0123456789abcdef"[i%16] {
			t.Fatalf("byte %d changed", i)
		}
	}
	if !strings.Contains(out.String(), "not shown") {
		t.Errorf("the trace does not say the body is not shown:\n%s", out.String())
	}
}
