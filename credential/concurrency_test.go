package credential

import (
	"context"
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

func TestDifferentKeysAreNotSerialised(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	get(t, c, scopes(graph))
	f.srv.FailNext(entratest.Fault{Delay: time.Second}) // the next request (key A) is slow
	slowDone := make(chan time.Time, 1)
	go func() {
		_, _ = c.GetToken(context.Background(), scopes(vault))
		slowDone <- time.Now()
	}()
	// Let key A's request reach the server; the fake holds it for a second.
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	get(t, c, scopes("https://management.azure.com/.default")) // key B
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("key B waited %v behind key A's slow request", el)
	}
	<-slowDone
}

func TestWaiterContextEndsItsWait(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	f.srv.FailNext(entratest.Fault{Delay: time.Second})
	go func() { _, _ = c.GetToken(context.Background(), scopes(graph)) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.GetToken(ctx, scopes(graph)); err == nil {
		t.Fatal("want the waiter's deadline error")
	}
	if el := time.Since(start); el > 300*time.Millisecond {
		t.Errorf("waiter returned after %v, want about 50 ms", el)
	}
}
