package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"

	"github.com/entrakit/entrakit/credential"
)

// The request benchmarks run against the fake in another process (StartRemote) and report,
// besides ns/op (which includes the fake's time), cpu-ns/op: this process's CPU time per
// operation, the client's own cost, and its allocations.

// movingClock is a clock a benchmark moves forward, so that every call finds its token expired.
type movingClock struct{ offset atomic.Int64 }

func (c *movingClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *movingClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// RefreshEntrakit: GetToken on an expired token, so that each call is a refresh_token grant.
func RefreshEntrakit(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	clock := &movingClock{}
	refreshes(b, r, clock, entrakitFor(b, r.fake(b), nil, clock.now, 1))
}

// refreshes measures b.N calls of cred, each after its clock moved past the token's expiry, and
// checks that each made one token request.
func refreshes(b *testing.B, r *Remote, clock *movingClock, cred credential.TokenCredential) {
	opts := credential.TokenRequestOptions{Scopes: ScopeSet(0)}
	r.TokenRequests(b)
	each(b, func(int) error {
		clock.advance(2 * time.Hour)
		_, err := cred.GetToken(context.Background(), opts)
		return err
	})
	if got := r.TokenRequests(b); got != b.N {
		b.Fatalf("%d token requests for %d refreshes", got, b.N)
	}
}

// each runs f(0..b.N-1), measuring this process's CPU time and allocations.
func each(b *testing.B, f func(i int) error) {
	m := startCPU(b)
	for i := range b.N {
		if err := f(i); err != nil {
			b.Fatal(err)
		}
	}
	m.stop()
}

// RefreshNetHTTP: the same refresh_token grant as a bare net/http POST and a json.Decoder
// decode: the floor.
func RefreshNetHTTP(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID}, "client_secret": {Secret},
		"refresh_token": {r.RefreshToken(b)}, "scope": {Scope}}
	each(b, func(int) error { return postAndDecode(r, form) })
}

func postAndDecode(r *Remote, form url.Values) error {
	resp, err := r.Client.Post(r.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body) // drained, the connection is reused
		resp.Body.Close()
	}()
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	if err == nil && tok.AccessToken == "" {
		err = fmt.Errorf("status %d without an access token", resp.StatusCode)
	}
	return err
}

func oauth2Config(r *Remote) *oauth2.Config {
	return &oauth2.Config{ClientID: ClientID, ClientSecret: Secret, RedirectURL: Redirect, Scopes: []string{Scope},
		Endpoint: oauth2.Endpoint{TokenURL: r.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
}

// RedeemEntrakit: a new credential redeeming a new code, per iteration.
func RedeemEntrakit(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	codes := r.Codes(b, b.N)
	opts := credential.TokenRequestOptions{Scopes: ScopeSet(0)}
	each(b, func(i int) error {
		cred, err := credential.NewAuthorizationCode(r.Tenant, ClientID, codes[i], Redirect, &credential.AuthorizationCodeOptions{
			ClientSecret: Secret, AuthorityHost: r.URL, HTTPClient: r.Client})
		if err == nil {
			_, err = cred.GetToken(context.Background(), opts)
		}
		return err
	})
}

// RedeemOAuth2: x/oauth2's Config.Exchange of a new code, per iteration, with the scope Entra
// requires. (x/oauth2 cannot be measured on a refresh: its refresh request cannot carry the
// scope Entra's v2.0 endpoint requires, AADSTS90014.)
func RedeemOAuth2(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	codes := r.Codes(b, b.N)
	cfg := oauth2Config(r)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, r.Client)
	each(b, func(i int) error {
		_, err := cfg.Exchange(ctx, codes[i], oauth2.SetAuthURLParam("scope", Scope))
		return err
	})
}

// RedeemMSAL: MSAL Go's AcquireTokenByAuthCode of a new code, per iteration (one client).
func RedeemMSAL(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	codes := r.Codes(b, b.N)
	cred, err := confidential.NewCredFromSecret(Secret)
	if err != nil {
		b.Fatal(err)
	}
	app, err := confidential.New(r.URL+"/"+r.Tenant, ClientID, cred, confidential.WithHTTPClient(r.Client), confidential.WithInstanceDiscovery(false))
	if err != nil {
		b.Fatal(err)
	}
	each(b, func(i int) error {
		_, err := app.AcquireTokenByAuthCode(context.Background(), codes[i], Redirect, ScopeSet(0))
		return err
	})
}

// RedeemNetHTTP: the same code grant as a bare net/http POST and a json.Decoder decode.
func RedeemNetHTTP(b *testing.B) {
	r := StartRemote(b)
	defer r.Close()
	codes := r.Codes(b, b.N)
	each(b, func(i int) error {
		return postAndDecode(r, url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID}, "code": {codes[i]},
			"redirect_uri": {Redirect}, "scope": {Scope}, "client_secret": {Secret}})
	})
}

// cpuMeter reports this process's CPU time per operation.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) *cpuMeter {
	b.ReportAllocs()
	b.ResetTimer()
	return &cpuMeter{b: b, start: processCPU()}
}

func (m *cpuMeter) stop() {
	d := processCPU() - m.start
	m.b.StopTimer()
	m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
}
