package credential

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// run calls f from n goroutines released together and returns the errors.
func run(n int, f func() error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func TestThousandCallersShareOneRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	call := func() error {
		_, err := c.GetToken(context.Background(), scopes(graph))
		return err
	}
	// The first redemption: one request, every caller served.
	f.srv.FailNext(entratest.Fault{Delay: 50 * time.Millisecond})
	for _, err := range run(1000, call) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.TokenRequests(); n != 1 {
		t.Fatalf("1,000 first callers made %d requests, want 1", n)
	}
	// An expired token: one refresh request for all.
	f.clock.Advance(2 * time.Hour)
	f.srv.FailNext(entratest.Fault{Delay: 50 * time.Millisecond})
	for _, err := range run(1000, call) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.TokenRequests(); n != 2 {
		t.Fatalf("1,000 callers on an expired token made %d requests in all, want 2", n)
	}
}

// gate holds the token requests for one scope at the client until released: tests use it
// instead of sleeping to make a request slow.
type gate struct {
	base    http.RoundTripper
	scope   string
	entered chan struct{} // closed when a held request arrives
	release chan struct{}
	once    sync.Once
}

func newGate(base http.RoundTripper, scope string) *gate {
	return &gate{base: base, scope: scope, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if body, err := r.GetBody(); err == nil {
		b, _ := io.ReadAll(body)
		if form, _ := url.ParseQuery(string(b)); form.Get("scope") == g.scope {
			g.once.Do(func() { close(g.entered) })
			select {
			case <-g.release:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return g.base.RoundTrip(r)
}

func TestDifferentKeysAreNotSerialised(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	g := newGate(f.srv.Client().Transport, vault)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.HTTPClient = &http.Client{Transport: g} })
	get(t, c, scopes(graph))
	slow := make(chan error, 1)
	go func() { _, err := c.GetToken(context.Background(), scopes(vault)); slow <- err }()
	<-g.entered // key A's request is under way, and held
	// Key B goes through meanwhile (were keys serialised, it would wait for A until its
	// context ended).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.GetToken(ctx, scopes("https://management.azure.com/.default")); err != nil {
		t.Errorf("key B waited behind key A's request: %v", err)
	}
	close(g.release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

func TestWaiterContextEndsItsWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	g := newGate(f.srv.Client().Transport, graph)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.HTTPClient = &http.Client{Transport: g} })
	first := make(chan error, 1)
	go func() { _, err := c.GetToken(context.Background(), scopes(graph)); first <- err }()
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.GetToken(ctx, scopes(graph)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a waiter whose context ended: err = %v, want its deadline", err)
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
