package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestExchangeSendsTheCodeGrant(t *testing.T) {
	t.Parallel()
	var got *http.Request
	var gotForm url.Values
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = r.ParseForm()
		gotForm = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at.x.y","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","id_token":"id","client_info":"ci","scope":"s1 s2"}`))
	}))
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	c := &Client{HTTPClient: srv.Client(), Now: func() time.Time { return now }}
	g := AuthCodeGrant{ClientID: "cid", Code: "the-code", RedirectURI: "http://localhost/cb",
		Scopes: []string{"s1", "s2"}, ClientSecret: "sec", CodeVerifier: "ver", Claims: `{"a":1}`}
	tok, err := c.Exchange(context.Background(), srv.URL+"/tenant/oauth2/v2.0/token", g.Form())
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.URL.Path != "/tenant/oauth2/v2.0/token" || got.URL.RawQuery != "" {
		t.Errorf("request = %s %s", got.Method, got.URL)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
		"User-Agent": DefaultUserAgent, "Return-Client-Request-Id": "true",
	} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if id := got.Header.Get("Client-Request-Id"); !uuidRE.MatchString(id) {
		t.Errorf("client-request-id %q is not a v4 UUID", id)
	}
	wantForm := url.Values{"grant_type": {"authorization_code"}, "client_id": {"cid"}, "code": {"the-code"},
		"redirect_uri": {"http://localhost/cb"}, "scope": {"s1 s2"}, "client_info": {"1"},
		"client_secret": {"sec"}, "code_verifier": {"ver"}, "claims": {`{"a":1}`}}
	if d := cmp.Diff(wantForm, gotForm); d != "" {
		t.Errorf("form (-want +got):\n%s", d)
	}
	want := &Token{AccessToken: "at.x.y", TokenType: "Bearer", ExpiresOn: now.Add(time.Hour), RefreshToken: "rt",
		IDToken: "id", ClientInfo: "ci", Scope: "s1 s2", RequestTime: now, refreshIn: -1}
	if d := cmp.Diff(want, tok, cmp.AllowUnexported(Token{})); d != "" {
		t.Errorf("token (-want +got):\n%s", d)
	}
}

func TestGrantForms(t *testing.T) {
	t.Parallel()
	minimal := AuthCodeGrant{ClientID: "c", Code: "k", RedirectURI: "r", Scopes: []string{"a"}}.Form()
	if d := cmp.Diff(url.Values{"grant_type": {"authorization_code"}, "client_id": {"c"}, "code": {"k"},
		"redirect_uri": {"r"}, "scope": {"a"}, "client_info": {"1"}}, minimal); d != "" {
		t.Errorf("public code grant sends optional fields (-want +got):\n%s", d)
	}
	rf := RefreshGrant{ClientID: "c", RefreshToken: "rt", Scopes: []string{"b", "a"}, ClientSecret: "s", Claims: "{}"}.Form()
	if d := cmp.Diff(url.Values{"grant_type": {"refresh_token"}, "client_id": {"c"}, "refresh_token": {"rt"},
		"scope": {"b a"}, "client_info": {"1"}, "client_secret": {"s"}, "claims": {"{}"}}, rf); d != "" {
		t.Errorf("refresh grant (-want +got):\n%s", d)
	}
}

func TestPKCE(t *testing.T) {
	t.Parallel()
	v := NewVerifier()
	if err := ValidateVerifier(v); err != nil {
		t.Fatalf("fresh verifier invalid: %v", err)
	}
	// RFC 7636 appendix B.
	if got := S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("S256Challenge = %q", got)
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 129), strings.Repeat("a", 42) + "!"} {
		if err := ValidateVerifier(bad); !errors.Is(err, ErrInvalidVerifier) || strings.Contains(err.Error(), bad+"x") {
			t.Errorf("ValidateVerifier(%q) = %v", bad, err)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		status      int
		ctype, body string
		wantCode    string
		wantErr     error
	}{
		{"JSON error body", 400, "application/json", `{"error":"invalid_grant","error_description":"AADSTS70008: expired.\r\nTrace ID: x"}`, "invalid_grant", nil},
		{"error body with 200 status", 200, "application/json", `{"error":"server_error"}`, "server_error", nil},
		{"HTML proxy page", 502, "text/html", "<html>bad gateway</html>", "", ErrMalformedResponse},
		{"empty body", 400, "", "", "", ErrMalformedResponse},
		{"truncated JSON on 200", 200, "application/json", `{"access_token":"abc","expi`, "", ErrMalformedResponse},
		{"JSON array body", 200, "application/json", `[1,2]`, "", ErrMalformedResponse},
		{"no access token", 200, "application/json", `{"token_type":"Bearer","expires_in":1}`, "", ErrMalformedResponse},
		{"redirect", 307, "", "", "", ErrRedirect},
		{"body over 1 MiB", 200, "application/json", `{"access_token":"` + strings.Repeat("a", MaxBodySize) + `"}`, "", ErrBodyTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				if tc.status == 307 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := &Client{HTTPClient: srv.Client(), MaxRetries: -1}
			_, err := c.Exchange(context.Background(), srv.URL+"/t/oauth2/v2.0/token", url.Values{"code": {"SECRETCODE"}})
			var re *RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want *RetrieveError", err, err)
			}
			if re.StatusCode != tc.status || re.ErrorCode != tc.wantCode || re.ContentType != tc.ctype {
				t.Errorf("got status %d code %q ctype %q", re.StatusCode, re.ErrorCode, re.ContentType)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "Trace ID") || strings.Contains(err.Error(), "<html>") || strings.Contains(err.Error(), "SECRETCODE") {
				t.Errorf("error message leaks body text: %q", err)
			}
		})
	}
}

func TestParseTokenTimes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name          string
		body          string
		exp, refresh  time.Time
		wantMalformed bool
	}{
		{"expires_in number", `{"access_token":"a","expires_in":3600}`, now.Add(time.Hour), time.Time{}, false},
		{"expires_in string", `{"access_token":"a","expires_in":"3600"}`, now.Add(time.Hour), time.Time{}, false},
		{"expires_on wins", `{"access_token":"a","expires_in":60,"expires_on":"1700007200"}`, now.Add(2 * time.Hour), now.Add(time.Hour), false},
		{"refresh_in honoured", `{"access_token":"a","expires_in":3600,"refresh_in":600}`, now.Add(time.Hour), now.Add(10 * time.Minute), false},
		{"two hour lifetime gets half", `{"access_token":"a","expires_in":7200}`, now.Add(2 * time.Hour), now.Add(time.Hour), false},
		{"just under two hours gets none", `{"access_token":"a","expires_in":7199}`, now.Add(7199 * time.Second), time.Time{}, false},
		{"no expiry leaves zero", `{"access_token":"a"}`, time.Time{}, time.Time{}, false},
		{"negative expires_in", `{"access_token":"a","expires_in":-5}`, time.Time{}, time.Time{}, true},
		{"zero expires_in", `{"access_token":"a","expires_in":0}`, time.Time{}, time.Time{}, true},
		{"float expires_in", `{"access_token":"a","expires_in":3599.5}`, time.Time{}, time.Time{}, true},
		{"huge expires_in", `{"access_token":"a","expires_in":99999999999999999}`, time.Time{}, time.Time{}, true},
		{"word expires_in", `{"access_token":"a","expires_in":"soon"}`, time.Time{}, time.Time{}, true},
		{"expires_on in the past", `{"access_token":"a","expires_on":5}`, time.Time{}, time.Time{}, true},
		{"header injection in access token", `{"access_token":"a\r\nX-Evil: 1","expires_in":60}`, time.Time{}, time.Time{}, true},
		{"NUL in refresh token", `{"access_token":"a","refresh_token":"r\u0000","expires_in":60}`, time.Time{}, time.Time{}, true},
		{"token_type with a space", `{"access_token":"a","token_type":"Bearer x","expires_in":60}`, time.Time{}, time.Time{}, true},
		{"trailing garbage", `{"access_token":"a","expires_in":60} {}`, time.Time{}, time.Time{}, true},
		{"duplicate member", `{"access_token":"a","expires_in":60,"access_token":"b"}`, time.Time{}, time.Time{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken([]byte(tc.body), now)
			if tc.wantMalformed {
				if !errors.Is(err, ErrMalformedResponse) {
					t.Fatalf("err = %v, want ErrMalformedResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tok.ExpiresOn.Equal(tc.exp) || !tok.RefreshOn.Equal(tc.refresh) || tok.TokenType != "Bearer" {
				t.Errorf("ExpiresOn %v RefreshOn %v type %q; want %v %v Bearer", tok.ExpiresOn, tok.RefreshOn, tok.TokenType, tc.exp, tc.refresh)
			}
		})
	}
}

func TestFormatRedacts(t *testing.T) {
	t.Parallel()
	tok, _ := ParseToken([]byte(`{"access_token":"CANARYAT","refresh_token":"CANARYRT","id_token":"CANARYID","expires_in":60}`), time.Now())
	code := AuthCodeGrant{ClientID: "c", Code: "CANARYCODE", RedirectURI: "r", Scopes: []string{"s"}, ClientSecret: "CANARYSECRET", CodeVerifier: "CANARYVERIFIER"}
	refresh := RefreshGrant{ClientID: "c", RefreshToken: "CANARYRT", Scopes: []string{"s"}, ClientSecret: "CANARYSECRET"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{tok, *tok, code, &code, refresh, &refresh} {
			if s := sprintf(f, v); strings.Contains(s, "CANARY") {
				t.Errorf("%s prints a secret: %s", f, s)
			}
		}
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	date := func() string { return time.Now().Add(time.Second).UTC().Format(http.TimeFormat) }
	cases := []struct {
		name      string
		status    int
		header    func() (string, string)
		failures  int
		wantCalls int32
		minWait   time.Duration
		wantOK    bool
	}{
		{"429 with Retry-After seconds", 429, func() (string, string) { return "Retry-After", "1" }, 1, 2, 900 * time.Millisecond, true},
		{"503 with Retry-After date", 503, func() (string, string) { return "Retry-After", date() }, 1, 2, 0, true},
		{"retry-after-ms", 503, func() (string, string) { return "retry-after-ms", "120" }, 1, 2, 100 * time.Millisecond, true},
		{"x-ms-retry-after-ms", 429, func() (string, string) { return "x-ms-retry-after-ms", "150" }, 2, 3, 250 * time.Millisecond, true},
		{"408 and 5xx retried with backoff", 500, func() (string, string) { return "", "" }, 3, 4, 0, true},
		{"at most 3 retries", 502, func() (string, string) { return "retry-after-ms", "1" }, 10, 4, 0, false},
		{"400 is not retried", 400, func() (string, string) { return "Retry-After", "1" }, 10, 1, 0, false},
		{"504 retried", 504, func() (string, string) { return "retry-after-ms", "1" }, 1, 2, 0, true},
		{"408 retried", 408, func() (string, string) { return "retry-after-ms", "1" }, 1, 2, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if int(n) <= tc.failures {
					if k, v := tc.header(); k != "" {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
					return
				}
				_, _ = w.Write([]byte(`{"access_token":"ok","expires_in":60}`))
			}))
			defer srv.Close()
			var waited time.Duration
			c := &Client{HTTPClient: srv.Client(), Backoff: time.Millisecond,
				Sleep: func(ctx context.Context, d time.Duration) error { waited += d; return nil }}
			tok, err := c.Exchange(context.Background(), srv.URL, url.Values{})
			if calls.Load() != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d", calls.Load(), tc.wantCalls)
			}
			if tc.wantOK != (err == nil) || (err == nil && tok.AccessToken != "ok") {
				t.Errorf("Exchange = %v, %v", tok, err)
			}
			if waited < tc.minWait {
				t.Errorf("waited %v in all, less than the server's requested wait %v", waited, tc.minWait)
			}
		})
	}
}

func TestRetryNeverWaitsPastTheDeadline(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slept := false
	_, err := (&Client{HTTPClient: srv.Client(), Sleep: func(context.Context, time.Duration) error { slept = true; return nil }}).Exchange(ctx, srv.URL, nil)
	var re *RetrieveError
	if !errors.As(err, &re) || re.StatusCode != 503 {
		t.Fatalf("err = %v, want the 503 answer", err)
	}
	if slept || calls.Load() != 1 {
		t.Errorf("slept %v after %d calls; should give up at once when Retry-After outlives the deadline", slept, calls.Load())
	}
}

func TestAHugeRetryAfterEndsTheRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "5000000")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	_, err := (&Client{HTTPClient: srv.Client(), Backoff: time.Millisecond}).Exchange(context.Background(), srv.URL, nil)
	var re *RetrieveError
	if !errors.As(err, &re) || re.StatusCode != http.StatusTooManyRequests || calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls; want the 429 answer after one call", err, calls.Load())
	}
}

func TestConnectionResetIsRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
			conn.Close()
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"ok","expires_in":60}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := &Client{Backoff: time.Millisecond, HTTPClient: &http.Client{Transport: &http.Transport{}}}
	tok, err := c.Exchange(context.Background(), "http://"+ln.Addr().String(), nil)
	if err != nil || tok.AccessToken != "ok" || calls.Load() != 2 {
		t.Fatalf("Exchange = %v, %v after %d calls; want a retry after the reset", tok, err, calls.Load())
	}
}

func TestRedirectTargetNeverReceivesTheForm(t *testing.T) {
	t.Parallel()
	var hit atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, err := (&Client{}).Exchange(context.Background(), srv.URL, url.Values{"client_secret": {"s"}})
	if !errors.Is(err, ErrRedirect) || hit.Load() {
		t.Fatalf("err = %v, target hit = %v", err, hit.Load())
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	// The server holds the request until the test ends: the call must end with the deadline.
	if _, err := (&Client{}).Exchange(ctx, srv.URL, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		x := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			x.Set(kv[i], kv[i+1])
		}
		return x
	}
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{"seconds", h("Retry-After", "7"), 7 * time.Second, true},
		{"date", h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"past date is zero", h("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"ms header wins", h("Retry-After", "7", "retry-after-ms", "250"), 250 * time.Millisecond, true},
		{"x-ms header", h("x-ms-retry-after-ms", "1500"), 1500 * time.Millisecond, true},
		{"garbage", h("Retry-After", "soon"), 0, false},
		{"negative", h("Retry-After", "-1"), 0, false},
		{"over a million seconds is the server's answer, not an absent one", h("Retry-After", "2000000"), 2_000_000 * time.Second, true},
		{"beyond uint64 is capped", h("Retry-After", "99999999999999999999999"), maxServerWait, true},
		{"huge ms is capped", h("retry-after-ms", "1e300"), maxServerWait, true},
		{"none", h(), 0, false},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: retryAfter = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestEchoedSecretsAreScrubbedFromRetrieveError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		echo := r.PostForm.Get("refresh_token") + " " + r.PostForm.Get("client_secret")
		w.Header().Set("Content-Type", "application/json; "+strings.ReplaceAll(echo, " ", "_"))
		w.WriteHeader(400)
		_, _ = fmt.Fprintf(w, `{"error":"invalid_grant %s","error_description":"you sent %s","error_uri":"https://x/%s","suberror":"%s"}`, echo, echo, echo, echo)
	}))
	defer srv.Close()
	form := RefreshGrant{ClientID: "c", RefreshToken: "REFRESH-SECRET-1", ClientSecret: "CLIENT-SECRET-2", Scopes: []string{"s"}}.Form()
	_, err := (&Client{HTTPClient: srv.Client(), MaxRetries: -1}).Exchange(context.Background(), srv.URL, form)
	var re *RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v", err)
	}
	all := err.Error() + fmt.Sprintf("%+v %#v", err, err) + re.ErrorCode + re.Description + re.ErrorURI + re.ContentType + string(re.Body)
	if strings.Contains(all, "SECRET") {
		t.Errorf("an echoed secret survived: %s", all)
	}
	if !strings.Contains(re.Description, "<echoed refresh_token>") || !strings.Contains(string(re.Body), "<echoed client_secret>") {
		t.Errorf("the echoes were not marked: %q / %s", re.Description, re.Body)
	}
}

func TestMemberNamesAreExact(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name, body string
		wantErr    string // "" for success
		wantAT     string
	}{
		{"exact names", `{"access_token":"at","expires_in":60}`, "", "at"},
		{"an escaped name is the same name", `{"access\u005ftoken":"at","expires_in":60}`, "", "at"},
		{"a member twice is refused", `{"access_token":"a","access_token":"b","expires_in":60}`, "appears twice", ""},
		{"a name in another case is refused, not matched", `{"Access_Token":"a","expires_in":60}`, "only in case", ""},
		{"a case variant beside the exact name is refused", `{"access_token":"a","REFRESH_TOKEN":"r","refresh_token":"s","expires_in":60}`, "only in case", ""},
		{"unknown members are ignored", `{"access_token":"at","x":{"access_token":"nested"},"y":[1,"]"],"expires_in":60}`, "", "at"},
		{"a number where a string belongs", `{"access_token":12,"expires_in":60}`, "not a string", ""},
		{"not an object", `["access_token"]`, "not a JSON object", ""},
		{"invalid JSON", `{"access_token":"a",}`, "invalid JSON", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := ParseToken([]byte(tc.body), now)
			if tc.wantErr == "" {
				if err != nil || tok.AccessToken != tc.wantAT {
					t.Fatalf("ParseToken = %v, %v; want access token %q", tok, err, tc.wantAT)
				}
				return
			}
			if !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want ErrMalformedResponse mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestASuccessfulAnswerIsReadOnce(t *testing.T) {
	body := []byte(`{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":3599,"ext_expires_in":3599,` +
		`"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln","refresh_token":"0.AXoAcEtu","client_info":"eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ"}`)
	now := time.Now()
	// Each string member read costs one allocation, the token one more; the scan itself none.
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseToken(body, now) }); n > 6 {
		t.Errorf("ParseToken allocates %v times, want at most 6", n)
	}
}

func TestAConnectionErrorNamesTheURLOnce(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL + "/t/oauth2/v2.0/token"
	srv.Close() // nothing listens there now
	_, err := (&Client{MaxRetries: -1}).Exchange(context.Background(), endpoint, nil)
	if err == nil || strings.Count(err.Error(), endpoint) != 1 || !strings.HasPrefix(err.Error(), "oauth: POST "+endpoint+": ") {
		t.Errorf("err = %v; want the endpoint named once", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("the cause is lost: %v", err)
	}
}
