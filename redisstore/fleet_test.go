package redisstore

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	entratest "github.com/entrakit/entrakit/httptest_fixtures"
	"github.com/entrakit/entrakit/redisstore/redistest"
)

const (
	helperEnv = "ENTRAKIT_REDISSTORE_HELPER"
	clientID  = "4a3b2c1d-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
	redirect  = "http://127.0.0.1:5173/callback"
	graph     = "https://graph.microsoft.com/.default"
	// testKeyB64 seals the partitions of every instance of a test fleet (base64 of 32 bytes).
	testKeyB64 = "c2VjcmV0LWtleS1vZi10aGUtdGVzdC1mbGVldCEhISE="
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "refresher":
		os.Exit(refresherHelper())
	case "holder":
		os.Exit(holderHelper())
	}
	os.Exit(m.Run())
}

// fleet is a fake Entra with strict rotation (a refresh token works once), one Redis, and the
// environment a helper process needs to be an instance of the fleet.
type fleet struct {
	t     *testing.T
	srv   *entratest.Server
	redis *redistest.Server
	env   []string
}

func newFleet(t *testing.T, redisArgs ...string) *fleet {
	t.Helper()
	rs := redistest.Start(t, redisArgs...)
	srv := entratest.NewServer(&entratest.Options{StrictRotation: true})
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ENTRAKIT_TEST_FLEET_KEY", testKeyB64)
	return &fleet{t: t, srv: srv, redis: rs, env: append(os.Environ(), "H_REDIS="+rs.Addr(), "H_CA="+ca, "H_URL="+srv.URL(), "H_TENANT="+srv.TenantID())}
}

func storeOn(addr string, opts *Options) (*Store, error) {
	o := Options{Keys: []cache.KeySource{cache.KeyFromEnv("ENTRAKIT_TEST_FLEET_KEY")}}
	if opts != nil {
		o = *opts
		o.Keys = []cache.KeySource{cache.KeyFromEnv("ENTRAKIT_TEST_FLEET_KEY")}
	}
	return New(redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond}), &o)
}

// instance is a cache on the fleet's Redis.
func (f *fleet) instance(opts *Options) *cache.Cache {
	f.t.Helper()
	st, err := storeOn(f.redis.Addr(), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	c, _ := cache.New(&cache.Options{Store: st})
	return c
}

// signIn redeems a code through an instance and returns the account's home ID.
func (f *fleet) signIn(c *cache.Cache) string {
	f.t.Helper()
	code := f.srv.IssueCode(entratest.CodeRequest{ClientID: clientID, RedirectURI: redirect, Scopes: []string{"openid", "offline_access"}})
	cred, err := credential.NewAuthorizationCode(f.srv.TenantID(), clientID, code, redirect, &credential.AuthorizationCodeOptions{
		AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client(), Cache: c})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{graph}}); err != nil {
		f.t.Fatal(err)
	}
	return c.Accounts()[0].HomeAccountID
}

func (f *fleet) credential(c *cache.Cache, account string) *credential.RefreshToken {
	f.t.Helper()
	cred, err := credential.NewFromCache(f.srv.TenantID(), clientID, account, &credential.RefreshTokenOptions{
		AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client(), Cache: c})
	if err != nil {
		f.t.Fatal(err)
	}
	return cred
}

// refresh asks for a token with claims: never from the cache, always a refresh.
func refresh(ctx context.Context, cred credential.TokenCredential, i int) error {
	claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, i)
	_, err := cred.GetToken(ctx, credential.TokenRequestOptions{Scopes: []string{graph}, Claims: claims})
	return err
}

// helperCredential is a helper process's instance: the account H_ACCOUNT on the Redis at H_REDIS.
func helperCredential(opts *Options) (*credential.RefreshToken, *Store, error) {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(os.Getenv("H_CA"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		return nil, nil, errors.New("bad CA")
	}
	st, err := storeOn(os.Getenv("H_REDIS"), opts)
	if err != nil {
		return nil, nil, err
	}
	c, _ := cache.New(&cache.Options{Store: st})
	cred, err := credential.NewFromCache(os.Getenv("H_TENANT"), clientID, os.Getenv("H_ACCOUNT"), &credential.RefreshTokenOptions{
		AuthorityHost: os.Getenv("H_URL"), Cache: c,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}})
	return cred, st, err
}

// refresherHelper makes H_N refreshes and prints how many failed, and why.
func refresherHelper() int {
	cred, _, err := helperCredential(nil)
	if err != nil {
		fmt.Println("setup:", err)
		return 2
	}
	n, _ := strconv.Atoi(os.Getenv("H_N"))
	failed := 0
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := refresh(ctx, cred, i); err != nil {
			failed++
			fmt.Println("error:", err)
		}
		cancel()
	}
	fmt.Println("failed", failed)
	return 0
}

// holderHelper takes the account's lease, says "locked", and waits to be killed.
func holderHelper() int {
	_, st, err := helperCredential(&Options{Lease: time.Second})
	if err != nil {
		fmt.Println("setup:", err)
		return 2
	}
	if _, err := st.Lock(context.Background(), cache.PartitionKey(os.Getenv("H_ENV"), clientID, os.Getenv("H_ACCOUNT"))); err != nil {
		fmt.Println("lock:", err)
		return 2
	}
	fmt.Println("locked")
	select {}
}

func (f *fleet) helper(mode, account string, extra ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(slices.Clone(f.env), helperEnv+"="+mode, "H_ACCOUNT="+account, "H_ENV="+f.srv.Host()), extra...)
	return cmd
}

// Four instances refresh one account 100 times each, under strict rotation: every refresh
// token is redeemed exactly once, none is refused.
func TestOneRefreshPerRotationAcrossTheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four processes of 100 refreshes")
	}
	f := newFleet(t)
	account := f.signIn(f.instance(nil))
	f.srv.ResetLog()
	const processes, each = 4, 100
	var wg sync.WaitGroup
	outs := make([]string, processes)
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := f.helper("refresher", account, "H_N="+strconv.Itoa(each)).CombinedOutput()
			outs[i] = string(out)
			if err != nil {
				t.Errorf("process %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if !strings.HasSuffix(out, "failed 0\n") {
			t.Errorf("process %d: %s", i, out)
		}
	}
	sent, refused, tokens := 0, 0, map[string]int{}
	for _, r := range f.srv.Requests() {
		if r.Form.Get("grant_type") == "refresh_token" {
			sent++
			tokens[r.Form.Get("refresh_token")]++
			if r.Status != http.StatusOK {
				refused++
			}
		}
	}
	if sent != processes*each || refused != 0 || len(tokens) != sent {
		t.Errorf("%d refreshes, %d refused, %d distinct refresh tokens; want %d, 0 and one redemption per rotation", sent, refused, len(tokens), processes*each)
	}
	t.Logf("%d processes x %d refreshes: %d requests, %d refused, %d refresh tokens each redeemed once", processes, each, sent, refused, len(tokens))
}

// A process killed while it holds an account's lease blocks the others for at most the lease.
func TestAKilledLeaseHolderBlocksTheOthersAtMostTheLease(t *testing.T) {
	f := newFleet(t)
	c := f.instance(nil)
	account := f.signIn(c)
	holder := f.helper("holder", account)
	out, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("the holder said %q", line)
	}
	_ = holder.Process.Signal(syscall.SIGKILL)
	_ = holder.Wait()
	lease := f.redis.Client(t).PTTL(context.Background(), "entrakit:{"+cache.PartitionKey(f.srv.Host(), clientID, account)+"}:lease").Val()
	if lease <= 0 || lease > time.Second {
		t.Fatalf("the dead holder's lease has %v left, want at most its 1 s", lease)
	}
	// Were the lease never to end, this would fail with its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second+5*time.Second)
	defer cancel()
	if err := refresh(ctx, f.credential(c, account), 1); err != nil {
		t.Errorf("after the holder died: %v", err)
	}
}

// Redis stopped and started again in the middle of a run: every call still returns a token
// within its deadline, from memory while Redis is away, and sharing resumes.
func TestRedisDownNeverStopsTokenAcquisition(t *testing.T) {
	f := newFleet(t)
	var failures atomic.Int32
	c := f.instance(&Options{Timeout: 300 * time.Millisecond, RetryDown: 50 * time.Millisecond, OnFailure: func(error) { failures.Add(1) }})
	account := f.signIn(c)
	cred := f.credential(c, account)
	for i := range 30 {
		switch i {
		case 10:
			f.redis.Stop()
		case 20:
			if err := f.redis.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := refresh(ctx, cred, i)
		cancel()
		if err != nil {
			t.Fatalf("call %d (Redis %s): %v", i, map[bool]string{true: "down", false: "up"}[i >= 10 && i < 20], err)
		}
	}
	if failures.Load() == 0 {
		t.Error("OnFailure was never called while Redis was down")
	}
	keys, err := f.redis.Client(t).Keys(context.Background(), "entrakit:{*}").Result()
	if err != nil || len(keys) != 1 {
		t.Errorf("after Redis came back the partition was not saved again: %v %v", keys, err)
	}
}

// A server that speaks only RESP2 (HELLO refused) works.
func TestARESP2OnlyServerWorks(t *testing.T) {
	f := newFleet(t, "--rename-command", "HELLO", "")
	c := f.instance(nil)
	account := f.signIn(c)
	if err := refresh(context.Background(), f.credential(f.instance(nil), account), 1); err != nil {
		t.Fatal(err)
	}
}

// A sign-out on one instance is seen by the others, and never written back.
func TestRemoveAccountIsSeenByEveryInstance(t *testing.T) {
	f := newFleet(t)
	a, b, c := f.instance(nil), f.instance(nil), f.instance(nil)
	account := f.signIn(a)
	onB := f.credential(b, account)
	var offset atomic.Int64 // C's clock, moved past the cache's Recheck
	onC, err := credential.NewFromCache(f.srv.TenantID(), clientID, account, &credential.RefreshTokenOptions{
		AuthorityHost: f.srv.URL(), HTTPClient: f.srv.Client(), Cache: c,
		Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	plain := credential.TokenRequestOptions{Scopes: []string{graph}}
	if err := refresh(context.Background(), onB, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := onC.GetToken(context.Background(), plain); err != nil { // C caches the token
		t.Fatal(err)
	}
	if err := a.RemoveAccount(context.Background(), account); err != nil {
		t.Fatal(err)
	}
	err = refresh(context.Background(), onB, 2)
	if err == nil || !strings.Contains(err.Error(), "no authorization code, cached access token, or refresh token available") {
		t.Errorf("instance B after the sign-out on A: %v", err)
	}
	offset.Store(int64(31 * time.Second)) // C, which only reads its cache, sees the sign-out too
	if _, err := onC.GetToken(context.Background(), plain); err == nil {
		t.Error("instance C still serves the signed-out account's cached token after the Recheck")
	}
	if got := b.Accounts(); len(got) != 0 {
		t.Errorf("instance B still lists %v", got)
	}
}

// A holder whose lease ran out cannot overwrite what the next holder saved.
func TestASaveAfterTheLeaseRanOutIsRefused(t *testing.T) {
	rs := redistest.Start(t)
	t.Setenv("ENTRAKIT_TEST_FLEET_KEY", testKeyB64)
	a, _ := storeOn(rs.Addr(), nil)
	b, _ := storeOn(rs.Addr(), nil)
	key := cache.PartitionKey("login.microsoftonline.com", clientID, "uid.utid")
	ctx := context.Background()
	unlockA, err := a.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	rs.Client(t).Del(ctx, "entrakit:{"+key+"}:lease") // A's lease runs out (A was paused, say)
	unlockB, err := b.Lock(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Save(ctx, key, []byte(`{"rotated":"by B"}`), ""); err != nil {
		t.Fatal(err)
	}
	unlockB()
	if _, err := a.Save(ctx, key, []byte(`{"stale":"from A"}`), ""); !errors.Is(err, cache.ErrConflict) {
		t.Errorf("A's late save: %v, want cache.ErrConflict", err)
	}
	if data, _, err := b.Load(ctx, key, ""); err != nil || string(data) != `{"rotated":"by B"}` {
		t.Errorf("the partition after A's late save: %q, %v", data, err)
	}
}

func TestAKeyIsRequiredAndTokensAreSealed(t *testing.T) {
	rs := redistest.Start(t)
	if _, err := New(rs.Client(t), &Options{}); err == nil {
		t.Error("a store without a key")
	}
	plain, err := New(rs.Client(t), &Options{Keys: []cache.KeySource{cache.InsecurePlaintext}})
	if err != nil || plain == nil {
		t.Errorf("opting out by name: %v", err)
	}
	t.Setenv("ENTRAKIT_TEST_FLEET_KEY", testKeyB64)
	st, _ := storeOn(rs.Addr(), nil)
	key := cache.PartitionKey("e", "c", "a")
	unlock, _ := st.Lock(context.Background(), key)
	_, err = st.Save(context.Background(), key, []byte(`{"refresh_token":"SECRETCANARY"}`), "")
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := rs.Client(t).HGet(context.Background(), "entrakit:{"+key+"}", "d").Result()
	if raw == "" || strings.Contains(raw, "SECRETCANARY") {
		t.Errorf("the stored partition is not sealed: %.60q", raw)
	}
}
