package credential

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/entrakit/entrakit/cache"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/internal/cachecore"
)

// Defect 1: a plain request after a request with claims gets the token the claims bought.
func TestAClaimsResponseReplacesWhatLaterPlainRequestsRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	for _, cae := range []bool{false, true} {
		plain := TokenRequestOptions{Scopes: []string{graph}, EnableCAE: cae}
		before := get(t, c, plain)
		withClaims := plain
		withClaims.Claims = challengeClaims
		answered := get(t, c, withClaims)
		if answered.Token == before.Token {
			t.Fatalf("cae=%v: the claims request was served from the cache", cae)
		}
		if after := get(t, c, plain); after.Token != answered.Token {
			t.Errorf("cae=%v: a plain request after the claims challenge got the token from before it", cae)
		}
	}
}

// Defect 1 as users met it: through NewTransport, six API calls after one CAE revocation make
// one 401 and two token requests (the first token, and the one answering the challenge).
func TestAfterACAERevocationTheTransportUsesTheNewTokenFromThenOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	var mu sync.Mutex
	revoked := map[string]bool{}
	unauthorized := 0
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		defer mu.Unlock()
		if len(revoked) == 0 {
			revoked[tok] = true // the first token seen is revoked (the user was disabled, say)
		}
		if revoked[tok] {
			unauthorized++
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="`+base64.StdEncoding.EncodeToString([]byte(challengeClaims))+`"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)
	hc := &http.Client{Transport: NewTransport(api.Client().Transport, c, TokenRequestOptions{Scopes: []string{graph}, EnableCAE: true})}
	for i := range 6 {
		resp, err := hc.Get(api.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	if unauthorized != 1 || f.srv.TokenRequests() != 2 {
		t.Errorf("%d answers 401 and %d token requests; want 1 and 2", unauthorized, f.srv.TokenRequests())
	}
}

// Defect 2: the first redemption starts the 30 s throttle, as every request does.
func TestTheFirstRedemptionStartsTheRefreshThrottle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{AccessTokenLifetime: 4 * time.Minute}) // inside the 5-minute window at once
	c := f.cred(entratest.User{}, nil)
	for range 3 {
		get(t, c, scopes(graph))
	}
	if n := f.srv.TokenRequests(); n != 1 {
		t.Errorf("three calls on 4-minute tokens made %d token requests, want 1", n)
	}
	f.clock.Advance(31 * time.Second) // the throttle is over: a refresh is due
	get(t, c, scopes(graph))
	if n := f.srv.TokenRequests(); n != 2 {
		t.Errorf("after 31 s: %d token requests, want 2", n)
	}
}

// answerFor makes the token endpoint answer refresh requests for another user: it swaps the
// refresh token the credential sends for one of other's, as a confused or hostile server
// would answer.
type answerFor struct {
	base  http.RoundTripper
	srv   *entratest.Server
	other entratest.User
}

func (a *answerFor) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.GetBody == nil {
		return a.base.RoundTrip(r)
	}
	body, _ := r.GetBody()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	form, _ := url.ParseQuery(b.String())
	if form.Get("grant_type") != "refresh_token" {
		return a.base.RoundTrip(r)
	}
	form.Set("refresh_token", a.srv.IssueRefreshToken(testClient, a.other))
	enc := form.Encode()
	r = r.Clone(r.Context())
	r.Body = http.NoBody
	r.ContentLength = int64(len(enc))
	r.Body = readCloser{strings.NewReader(enc)}
	return a.base.RoundTrip(r)
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

// Defect 3: a refresh answered for another account is an error; nothing of it is kept.
func TestARefreshAnsweredForAnotherAccountIsRefusedAndNotCached(t *testing.T) {
	t.Parallel()
	for _, noClientInfo := range []bool{false, true} {
		f := newFixture(t, &entratest.Options{NoClientInfo: noClientInfo})
		f.srv.AddUser(bob)
		c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) {
			o.HTTPClient = &http.Client{Transport: &answerFor{base: f.srv.Client().Transport, srv: f.srv, other: bob}}
		})
		vaultAndID := scopes(vault, "openid") // openid: without client_info, the id_token names the account
		get(t, c, vaultAndID)                 // the redemption binds alice
		f.clock.Advance(2 * time.Hour)        // expired: the next call refreshes, and the server answers for bob
		_, err := c.GetToken(context.Background(), vaultAndID)
		if !errors.Is(err, ErrAccountMismatch) {
			t.Fatalf("client_info off=%v: err = %v, want ErrAccountMismatch", noClientInfo, err)
		}
		p := c.e.partition()
		if e := p.Lookup(f.srv.TenantID(), vaultAndID.Scopes, false); e != nil && oid(t, e.Token.Secret) == bob.ObjectID {
			t.Errorf("client_info off=%v: bob's token was cached under alice", noClientInfo)
		}
		var rt string
		_ = p.Update(context.Background(), func(tx *cachecore.Tx) error { rt = tx.RefreshToken(); return nil })
		if used := f.lastForm().Get("refresh_token"); rt == used {
			t.Errorf("client_info off=%v: bob's refresh token replaced alice's", noClientInfo)
		}
	}
}

// Defect 4: what the engine keeps per request stays bounded by the cache, whatever callers send.
func TestStateKeyedByWhatCallersSendIsBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, nil)
	get(t, c, scopes(graph))
	for i := range 100 {
		claims := `{"access_token":{"nbf":{"essential":true,"value":"` + strings.Repeat("9", i%40) + time.Duration(i).String() + `"}}}`
		get(t, c, TokenRequestOptions{Scopes: []string{graph}, Claims: claims})
	}
	_, ats, _ := c.e.core.Stats()
	c.e.flights.mu.Lock()
	inFlight := len(c.e.flights.calls)
	c.e.flights.mu.Unlock()
	if ats != 1 || inFlight != 0 {
		t.Errorf("after 100 claims challenges: %d cached tokens and %d flights, want 1 and 0", ats, inFlight)
	}
}

// sharedDir returns a file store directory and a second store on it (another process).
func sharedDir(t *testing.T) (string, *cache.FileStore) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tokens")
	other, err := cache.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, other
}

// Defect 5: a lock that cannot be had never leads to an unlocked redemption.
func TestALockWaitThatEndsNeverRedeemsWithoutTheLock(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	dir, other := sharedDir(t)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, dir) })
	first := get(t, c, scopes(graph))
	key := cachecore.Key(c.e.partition().ID())
	unlock, err := other.Lock(context.Background(), key) // another process is refreshing, or stuck
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	before := f.srv.TokenRequests()

	f.clock.Advance(57 * time.Minute) // refresh due, token still valid: the cached token
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if tok, err := c.GetToken(ctx, scopes(graph)); err != nil || tok.Token != first.Token {
		t.Errorf("refresh due under a held lock: %v, %v; want the still-valid cached token", tok, err)
	}
	f.clock.Advance(time.Hour) // expired: nothing to serve, so the caller sees the lock error
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := c.GetToken(ctx, scopes(graph)); !errors.Is(err, cache.ErrLock) {
		t.Errorf("expired under a held lock: err = %v, want cache.ErrLock", err)
	}
	if n := f.srv.TokenRequests() - before; n != 0 {
		t.Errorf("%d token requests were sent without the lock", n)
	}
}

// Defect 5: a retry waits with the lock released, and starts over after taking it again.
func TestARetryWaitsWithTheLockReleased(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &entratest.Options{StrictRotation: true})
	dir, other := sharedDir(t)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Cache = fileCache(t, dir) })
	get(t, c, scopes(graph))
	key := cachecore.Key(c.e.partition().ID())
	var waited []time.Duration
	c.e.client.Sleep = func(ctx context.Context, d time.Duration) error {
		waited = append(waited, d)
		lctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		unlock, err := other.Lock(lctx, key) // another process can take the lock meanwhile
		if err != nil {
			t.Errorf("the lock was held during the retry wait: %v", err)
			return nil
		}
		unlock()
		return nil
	}
	f.srv.FailNext(entratest.Fault{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"7"}}})
	get(t, c, scopes(vault))
	if len(waited) != 1 || waited[0] != 7*time.Second {
		t.Errorf("waits %v, want one of the server's 7 s", waited)
	}
}

// afterSuspend returns t as time.Now would return it after the machine slept for d: the wall
// clock d later, the monotonic reading unchanged (Linux's CLOCK_MONOTONIC stops in suspend).
// It sets the time.Time fields directly; the test below checks that it did what it says.
func afterSuspend(t time.Time, d time.Duration) time.Time {
	type timeRepr struct {
		wall uint64 // with hasMonotonic set: 1 bit flag, 33 bits of seconds since 1885, 30 bits of nanoseconds
		ext  int64  // the monotonic reading
		loc  *time.Location
	}
	const hasMonotonic = 1 << 63
	r := (*timeRepr)(unsafe.Pointer(&t))
	if r.wall&hasMonotonic == 0 {
		panic("afterSuspend needs a time with a monotonic reading")
	}
	secs := r.wall<<1>>31 + uint64(d/time.Second)
	r.wall = r.wall&(hasMonotonic|(1<<30-1)) | secs<<30
	return t
}

// Defect 7: expiry is compared on the wall clock, which runs while a laptop sleeps.
func TestAfterASuspendLongerThanATokensLifeTheTokenIsExpired(t *testing.T) {
	if runtime.Compiler != "gc" {
		t.Skip("afterSuspend knows gc's time.Time layout")
	}
	t.Parallel()
	base := time.Now()
	woke := afterSuspend(base, 2*time.Hour)
	if woke.Round(0).Sub(base.Round(0)) != 2*time.Hour || woke.Sub(base) != 0 {
		t.Fatalf("afterSuspend: wall %v later, monotonic %v later; want 2h and 0", woke.Round(0).Sub(base.Round(0)), woke.Sub(base))
	}
	var mu sync.Mutex
	now := base
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, nil)
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Now = clock })
	first := get(t, c, scopes(graph)) // a one-hour token
	mu.Lock()
	now = woke
	mu.Unlock()
	if tok := get(t, c, scopes(graph)); tok.Token == first.Token || f.srv.TokenRequests() != 2 {
		t.Error("after two hours of sleep the expired token was served as fresh")
	}
}
