package credential

import (
	"context"
	"errors"
	"testing"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

func TestRefreshTokenCredential(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	rt := f.srv.IssueRefreshToken(testClient, bob)
	c, err := NewRefreshToken(f.srv.TenantID(), testClient, rt, &RefreshTokenOptions{AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client(), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := get(t, c, scopes(graph))
	if oid(t, first.Token) != bob.ObjectID || f.lastForm().Get("refresh_token") != rt || f.lastForm().Get("grant_type") != "refresh_token" {
		t.Fatalf("first request did not redeem the given refresh token")
	}
	if again := get(t, c, scopes(graph)); again.Token != first.Token || f.srv.TokenRequests() != 1 {
		t.Error("second call was not served from the cache")
	}
	// Strict rotation: the next two requests only work with the rotated tokens.
	get(t, c, scopes(vault))
	second := f.lastForm().Get("refresh_token")
	get(t, c, scopes("https://management.azure.com/.default"))
	if second == rt || f.lastForm().Get("refresh_token") == second {
		t.Error("the rotated refresh token was not used")
	}
	var _ TokenCredential = c
	if _, err := NewRefreshToken("t", testClient, "", nil); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("empty refresh token: %v", err)
	}
}

func TestRefreshTokenKeptWhenServerDoesNotRotate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{NoRefreshToken: true})
	rt := f.srv.IssueRefreshToken(testClient, entratest.User{})
	c, err := NewNamedRefreshToken("VisualStudioCodeCredential", f.srv.TenantID(), testClient, rt, &RefreshTokenOptions{AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	get(t, c, scopes(graph))
	get(t, c, scopes(vault))
	if got := f.lastForm().Get("refresh_token"); got != rt {
		t.Errorf("second refresh sent %q, want the original token", got)
	}
	f.srv.RevokeRefreshTokens()
	_, err = c.GetToken(context.Background(), scopes("https://storage.azure.com/.default"))
	var af *AuthenticationFailedError
	if !errors.As(err, &af) || af.Credential != "VisualStudioCodeCredential" {
		t.Errorf("err = %v, want an AuthenticationFailedError naming the credential", err)
	}
}
