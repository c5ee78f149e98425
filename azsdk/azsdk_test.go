package azsdk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/entrakit/entrakit/azsdk"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

const (
	clientID = "3f6b2a1c-0d4e-4f5a-8b9c-7d6e5f4a3b2c"
	redirect = "http://localhost/callback"
	scope    = "https://vault.azure.net/.default"
)

func newCredential(t *testing.T, srv *entratest.Server) *credential.AuthorizationCode {
	t.Helper()
	code := srv.IssueCode(entratest.CodeRequest{ClientID: clientID, RedirectURI: redirect})
	c, err := credential.NewAuthorizationCode(srv.TenantID(), clientID, code, redirect,
		&credential.AuthorizationCodeOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pipeline is a real azcore pipeline with azcore's own bearer token policy.
func pipeline(cred azcore.TokenCredential, transport policy.Transporter) runtime.Pipeline {
	return runtime.NewPipeline("entrakit-test", "v0.0.1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)},
	}, &policy.ClientOptions{Transport: transport, Retry: policy.RetryOptions{MaxRetries: -1}})
}

func TestAzcorePipelineUsesEntrakitTokens(t *testing.T) {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	var mu sync.Mutex
	var seen []string
	resource := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer resource.Close()

	p := pipeline(azsdk.NewTokenCredential(newCredential(t, srv)), resource.Client())
	for range 3 {
		req, err := runtime.NewRequest(context.Background(), http.MethodGet, resource.URL+"/secrets/x")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if len(seen) != 3 || !strings.HasPrefix(seen[0], "Bearer ey") || seen[0] != seen[2] {
		t.Errorf("Authorization headers %q", seen)
	}
	if n := srv.TokenRequests(); n != 1 {
		t.Errorf("%d token requests; the token should be reused", n)
	}
	if got := srv.Requests()[0].Form.Get("scope"); got != scope {
		t.Errorf("scope sent %q", got)
	}
}

func TestErrorsPassThrough(t *testing.T) {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	srv.FailNext(entratest.Fault{Status: 400, Body: `{"error":"invalid_grant","error_codes":[70008]}`, ContentType: "application/json"})
	cred := azsdk.NewTokenCredential(newCredential(t, srv))
	_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	var af *credential.AuthenticationFailedError
	if !errors.As(err, &af) || af.ErrorCodes[0] != 70008 {
		t.Errorf("err = %v", err)
	}
	info, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}, EnableCAE: true})
	if err != nil || info.Token == "" || info.ExpiresOn.IsZero() {
		t.Errorf("CAE token: %v %v", info.ExpiresOn, err)
	}
	if got := srv.Requests()[1].Form.Get("claims"); !strings.Contains(got, "CP1") {
		t.Errorf("CAE was not passed through: claims %q", got)
	}
}
