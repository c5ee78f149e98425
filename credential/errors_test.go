package credential

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/oauth"
)

func authErr(t *testing.T, err error) *AuthenticationFailedError {
	t.Helper()
	var af *AuthenticationFailedError
	if !errors.As(err, &af) {
		t.Fatalf("err = %v (%T), want *AuthenticationFailedError", err, err)
	}
	return af
}

func TestEntraErrorFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	// Redeem a code, then replay it through a second credential: AADSTS54005.
	first := f.cred(entratest.User{}, nil)
	get(t, first, scopes(graph))
	replay, err := NewAuthorizationCode(f.srv.TenantID(), testClient, f.lastForm().Get("code"), testRedirect,
		&AuthorizationCodeOptions{CodeVerifier: f.lastForm().Get("code_verifier"), AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = replay.GetToken(context.Background(), scopes(graph))
	af := authErr(t, err)
	sentID := f.srv.Requests()[len(f.srv.Requests())-1].Header.Get("client-request-id")
	if af.Credential != "AuthorizationCodeCredential" || af.StatusCode != 400 || af.ErrorCode != "invalid_grant" ||
		len(af.ErrorCodes) != 1 || af.ErrorCodes[0] != 54005 || af.TraceID == "" || af.CorrelationID != sentID {
		t.Errorf("fields = %+v", *af)
	}
	if !strings.HasPrefix(af.Description, "AADSTS54005: OAuth2 Authorization code was already redeemed") || strings.Contains(af.Description, "Trace ID") {
		t.Errorf("Description = %q, want the first line only", af.Description)
	}
	msg := err.Error()
	for _, want := range []string{"AuthorizationCodeCredential", "invalid_grant", "AADSTS54005", "troubleshoot"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}

	// A claims challenge: AADSTS50076 with suberror and claims.
	f.srv.RequireClaims(entratest.User{})
	_, err = c.GetToken(context.Background(), scopes(graph))
	af = authErr(t, err)
	if af.ErrorCodes[0] != 50076 || af.SubError != "basic_action" || af.Claims != entratest.ChallengeClaims {
		t.Errorf("claims challenge fields = %+v", *af)
	}
	if _, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, Claims: af.Claims}); err != nil {
		t.Errorf("answering the challenge with its claims: %v", err)
	}
}

func TestNonJSONAnswersBecomeAuthenticationFailed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fault  entratest.Fault
		status int
		ctype  string
		cause  error
	}{
		{"HTML 502 page", entratest.Fault{Status: 502, Body: "<html><body>Bad Gateway</body></html>", ContentType: "text/html", Header: http.Header{"Retry-After-Ms": {"1"}}, Times: 4}, 502, "text/html", oauth.ErrMalformedResponse},
		{"empty 400 body", entratest.Fault{Status: 400, Body: " ", ContentType: "application/json"}, 400, "application/json", oauth.ErrMalformedResponse},
		{"JSON without error on 401", entratest.Fault{Status: 401, Body: `{"message":"nope"}`, ContentType: "application/json"}, 401, "application/json", oauth.ErrMalformedResponse},
		{"redirect", entratest.Fault{Status: 307, Header: http.Header{"Location": {"https://127.0.0.1:1/elsewhere"}}, Body: "x", ContentType: "text/plain"}, 307, "text/plain", oauth.ErrRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			c := f.cred(entratest.User{}, nil)
			f.srv.FailNext(tc.fault)
			_, err := c.GetToken(context.Background(), scopes(graph))
			af := authErr(t, err)
			if af.StatusCode != tc.status || !errors.Is(err, tc.cause) || !strings.Contains(err.Error(), tc.ctype) {
				t.Errorf("err = %v (status %d)", err, af.StatusCode)
			}
		})
	}
	t.Run("truncated body", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		c := f.cred(entratest.User{}, nil)
		f.srv.FailNext(entratest.Fault{TruncateAfter: 40, Times: 4})
		_, err := c.GetToken(context.Background(), scopes(graph))
		af := authErr(t, err)
		if af.Err == nil || f.srv.TokenRequests() != 4 || len(f.recordedWaits()) != 3 {
			t.Errorf("err = %v after %d requests and waits %v; a body cut by a reset is retried 3 times", err, f.srv.TokenRequests(), f.recordedWaits())
		}
	})
}

func TestRetriesThroughTheCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	f.srv.FailNext(entratest.Fault{Status: 429, Header: http.Header{"Retry-After": {"1"}}})
	f.srv.FailNext(entratest.Fault{Status: 503, Header: http.Header{"x-ms-retry-after-ms": {"10"}}})
	get(t, c, scopes(graph))
	if n, w := f.srv.TokenRequests(), f.recordedWaits(); n != 3 || !slices.Equal(w, []time.Duration{time.Second, 10 * time.Millisecond}) {
		t.Errorf("%d requests after waits %v; want 3, after the server's 1 s and 10 ms", n, w)
	}
	f.srv.FailNext(entratest.Fault{Status: 503, Header: http.Header{"retry-after-ms": {"1"}}, Times: 10})
	_, err := c.GetToken(context.Background(), scopes(vault))
	if af := authErr(t, err); af.StatusCode != 503 || f.srv.TokenRequests() != 7 {
		t.Errorf("retry cap: status %d after %d requests, want 503 after 4 more", af.StatusCode, f.srv.TokenRequests()-3)
	}
}

// Against the fake's throttling mode, which refuses a client that comes back before its
// Retry-After is up, the credential is never throttled: it waits as long as asked.
func TestTheCredentialIsNeverThrottled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.srv.Configure(func(o *entratest.Options) { o.Throttle, o.Now = true, f.clock.Now })
	c := f.cred(entratest.User{}, nil)
	c.e.client.Sleep = func(ctx context.Context, d time.Duration) error { f.clock.Advance(d); return ctx.Err() }
	f.srv.FailNext(entratest.Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}})
	f.srv.FailNext(entratest.Fault{Status: 503, Header: http.Header{"Retry-After-Ms": {"1500"}}})
	start := f.clock.Now()
	get(t, c, scopes(graph))
	if n, waited := f.srv.ThrottledRequests(), f.clock.Now().Sub(start); n != 0 || waited < 8500*time.Millisecond {
		t.Errorf("%d requests throttled after waiting %v of the 8.5 s asked", n, waited)
	}
	// A client that does not wait is throttled: the mode is on.
	c.e.client.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	f.srv.FailNext(entratest.Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}})
	_, _ = c.GetToken(context.Background(), scopes(vault))
	if f.srv.ThrottledRequests() == 0 {
		t.Error("an impatient client was not throttled")
	}
}

func TestRedirectTargetNeverReceivesTheForm(t *testing.T) {
	t.Parallel()
	var stolen atomic.Int32
	thief := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	defer thief.Close()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.ClientSecret = "client-secret-value" })
	f.srv.FailNext(entratest.Fault{Status: 307, Header: http.Header{"Location": {thief.URL + "/steal"}}})
	_, err := c.GetToken(context.Background(), scopes(graph))
	if !errors.Is(err, oauth.ErrRedirect) || stolen.Load() != 0 {
		t.Errorf("err = %v; redirect target received %d requests", err, stolen.Load())
	}
}

func TestCancelledContextReturnsPromptly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	f.srv.FailNext(entratest.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	// A hung server: the call ends with the caller's deadline (the fake would hold it until
	// the test ends).
	if _, err := c.GetToken(ctx, scopes(graph)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := c.GetToken(cancelled, scopes(graph)); !errors.Is(err, context.Canceled) {
		t.Errorf("already cancelled context: %v", err)
	}
}

func TestTLSCertificateFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	// A client that does not trust the test server's certificate.
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, err := NewAuthorizationCode("home", testClient, "code", testRedirect, &AuthorizationCodeOptions{AuthorityHost: srv.URL, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetToken(context.Background(), scopes(graph))
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
	authErr(t, err)
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections; a certificate failure must not be retried", n)
	}
}

func TestRetryAfterHTTPDateThroughTheCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	date := f.clock.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) // a whole second: 1 to 2 s away
	f.srv.FailNext(entratest.Fault{Status: 503, Header: http.Header{"Retry-After": {date}}})
	get(t, c, scopes(graph))
	if w := f.recordedWaits(); len(w) != 1 || w[0] <= time.Second || w[0] > 2*time.Second || f.srv.TokenRequests() != 2 {
		t.Errorf("waits %v with %d requests; want one wait until the HTTP date", w, f.srv.TokenRequests())
	}
}
