package credential

import (
	"context"
	"testing"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// The cached path is what services call on every request: it must not allocate.
func TestCachedGetTokenDoesNotAllocate(t *testing.T) {
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	opts := scopes(graph, "offline_access")
	get(t, c, opts)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _, _ = c.GetToken(ctx, opts) }); n != 0 {
		t.Errorf("cached GetToken allocates %v times per call", n)
	}
	// A second key: the memo now holds it, so the first one is served from the shared cache's map.
	other := scopes(vault)
	get(t, c, other)
	if n := testing.AllocsPerRun(1000, func() { _, _ = c.GetToken(ctx, opts) }); n != 0 {
		t.Errorf("cached GetToken through the cache map allocates %v times per call", n)
	}
	if f.srv.TokenRequests() != 2 {
		t.Errorf("%d token requests, want 2", f.srv.TokenRequests())
	}
}

func BenchmarkCachedGetToken(b *testing.B) {
	srv := entratest.NewServer(nil)
	defer srv.Close()
	code := srv.IssueCode(entratest.CodeRequest{ClientID: testClient, RedirectURI: testRedirect})
	c, err := NewAuthorizationCode(srv.TenantID(), testClient, code, testRedirect, &AuthorizationCodeOptions{AuthorityHost: srv.URL(), HTTPClient: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	opts := scopes(graph)
	ctx := context.Background()
	if _, err := c.GetToken(ctx, opts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetToken(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}
