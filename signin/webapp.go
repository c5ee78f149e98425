package signin

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/entrakit/entrakit/credential"
)

// stateTTL is how long a started sign-in may take.
const stateTTL = 10 * time.Minute

// StateStore keeps the sign-ins in progress of a web app, for apps that would rather keep them
// on the server (several instances behind a load balancer share one) than in a cookie.
type StateStore interface {
	// Put keeps value under id for ttl.
	Put(ctx context.Context, id string, value []byte, ttl time.Duration) error
	// Take returns the value kept under id and forgets it (so each works once), or an error
	// wrapping ErrStateMismatch when there is none.
	Take(ctx context.Context, id string) ([]byte, error)
}

// WebAppOptions configure a WebApp.
type WebAppOptions struct {
	// RedirectURI is the callback's absolute URI, registered for the app
	// (https://app.example/auth/callback). Required.
	RedirectURI string
	// CookieKey (32 bytes) seals the cookie that keeps a sign-in in progress; or Store keeps
	// them on the server. One of the two is required.
	CookieKey []byte `json:"-"`
	Store     StateStore
	// OnSignIn receives each finished sign-in and writes the response (typically: start a
	// session for res.Account.HomeAccountID and redirect to returnTo, a local path the start
	// handler was given, or "/"). Required.
	OnSignIn func(w http.ResponseWriter, r *http.Request, res *Result, returnTo string)
	// OnError writes the response to a failed callback; nil means an error page (status 400)
	// that shows the error, escaped.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// Options, when set, gives each start request its authorize options (a login_hint from the
	// query, say); RedirectURI is ignored.
	Options func(r *http.Request) *RequestOptions
}

// WebApp signs the users of a web application in: StartHandler sends a browser to Entra,
// CallbackHandler finishes the sign-in and hands OnSignIn the user's account and credential.
// Many users sign in at once, each into their own account; with a shared Config.Cache, later
// requests make credential.NewFromCache for the session's account.
type WebApp struct {
	cfg   *config
	opts  WebAppOptions
	aead  cipher.AEAD
	path  string // the callback's path, for the cookie
	mu    sync.Mutex
	spent map[string]time.Time // states finished in this process (a replayed cookie is refused)
}

// NewWebApp validates cfg and opts (errors wrap credential.ErrInvalidInput).
func NewWebApp(cfg Config, opts WebAppOptions) (*WebApp, error) {
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(opts.RedirectURI)
	if opts.RedirectURI == "" || err != nil || u.Host == "" || (u.Scheme != "https" && !isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("%w: WebAppOptions.RedirectURI must be an absolute https URI (http only on localhost)", credential.ErrInvalidInput)
	}
	if opts.OnSignIn == nil {
		return nil, fmt.Errorf("%w: WebAppOptions.OnSignIn is required", credential.ErrInvalidInput)
	}
	a := &WebApp{cfg: c, opts: opts, path: u.Path, spent: map[string]time.Time{}}
	if a.path == "" {
		a.path = "/"
	}
	switch {
	case opts.Store != nil:
	case len(opts.CookieKey) == 32:
		block, _ := aes.NewCipher(opts.CookieKey)
		a.aead, _ = cipher.NewGCMWithRandomNonce(block) // FIPS 140-3 approved: the nonce is the GCM's own
	default:
		return nil, fmt.Errorf("%w: WebAppOptions needs a 32-byte CookieKey or a Store", credential.ErrInvalidInput)
	}
	return a, nil
}

// pending is a sign-in in progress, as kept between the two handlers.
type pending struct {
	State, Nonce, Verifier, ReturnTo string
	Expires                          time.Time
}

// StartHandler redirects the browser to Entra's sign-in page, keeping the sign-in's state in a
// sealed cookie (or the Store). A "return_to" query parameter, a local path, is handed to
// OnSignIn.
func (a *WebApp) StartHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ro := &RequestOptions{}
		if a.opts.Options != nil {
			if o := a.opts.Options(r); o != nil {
				ro = o
			}
		}
		ro.RedirectURI = a.opts.RedirectURI
		req, err := a.cfg.newRequest(ro)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p := pending{State: req.state, Nonce: req.nonce, Verifier: req.verifier, ReturnTo: localPath(r.URL.Query().Get("return_to")),
			Expires: time.Now().Add(stateTTL)}
		if err := a.keep(r.Context(), w, p); err != nil {
			a.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, req.URL, http.StatusFound)
	})
}

// CallbackHandler finishes a sign-in: the state must be one this app started in this browser,
// unused and not expired (else an error page, and nothing changes); then the code is redeemed (the id_token's
// nonce checked) and OnSignIn gets the result.
func (a *WebApp) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := a.take(r.Context(), w, r, q.Get("state"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		req := &Request{RedirectURI: a.opts.RedirectURI, cfg: a.cfg, state: p.State, nonce: p.Nonce, verifier: p.Verifier}
		res, err := req.Finish(r.Context(), q)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.opts.OnSignIn(w, r, res, p.ReturnTo)
	})
}

func (a *WebApp) fail(w http.ResponseWriter, r *http.Request, err error) {
	if a.opts.OnError != nil {
		a.opts.OnError(w, r, err)
		return
	}
	if errors.Is(err, ErrStateMismatch) || errors.Is(err, ErrStateUsed) {
		writePage(w, http.StatusBadRequest, pageWrongState, "")
		return
	}
	if errors.Is(err, ErrTooManySignIns) {
		writePage(w, http.StatusServiceUnavailable, pageFailed, err.Error())
		return
	}
	writePage(w, http.StatusBadRequest, pageFailed, err.Error())
}

// cookieName names a sign-in's cookie after its state, so that sign-ins in several tabs do not
// overwrite each other.
func cookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return "entrakit_signin_" + hex.EncodeToString(sum[:6])
}

func (a *WebApp) keep(ctx context.Context, w http.ResponseWriter, p pending) error {
	data, _ := json.Marshal(p)
	if a.opts.Store != nil {
		// The store's key needs the browser's cookie too: a callback from another browser, even
		// with the right state, finds nothing (and uses nothing up).
		binder := rand.Text()
		a.setCookie(w, cookieName(p.State), binder)
		return a.opts.Store.Put(ctx, stateID(p.State+"\x00"+binder), data, stateTTL)
	}
	sealed := a.aead.Seal(nil, nil, data, []byte(cookieName(p.State))) // nonce, then ciphertext
	a.setCookie(w, cookieName(p.State), base64.RawURLEncoding.EncodeToString(sealed))
	return nil
}

func (a *WebApp) setCookie(w http.ResponseWriter, name, value string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: a.path, MaxAge: int(stateTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// take finds the sign-in of state and uses it up.
func (a *WebApp) take(ctx context.Context, w http.ResponseWriter, r *http.Request, state string) (*pending, error) {
	if state == "" || len(state) > 256 {
		return nil, ErrStateMismatch
	}
	c, err := r.Cookie(cookieName(state))
	if err != nil {
		return nil, ErrStateMismatch // not started in this browser
	}
	http.SetCookie(w, &http.Cookie{Name: c.Name, Path: a.path, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	var data []byte
	if a.opts.Store != nil {
		if data, err = a.opts.Store.Take(ctx, stateID(state+"\x00"+c.Value)); err != nil {
			return nil, err
		}
	} else {
		sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil {
			return nil, ErrStateMismatch
		}
		if data, err = a.aead.Open(nil, nil, sealed, []byte(c.Name)); err != nil {
			return nil, ErrStateMismatch
		}
	}
	var p pending
	if json.Unmarshal(data, &p) != nil || time.Now().After(p.Expires) {
		return nil, ErrStateMismatch
	}
	req := Request{state: p.State}
	if !req.matches(state) {
		return nil, ErrStateMismatch
	}
	if !a.spend(p.State, p.Expires) {
		return nil, ErrStateUsed
	}
	return &p, nil
}

// spend records a state as finished in this process, so that a replayed cookie is refused;
// entries leave when their sign-in would have expired anyway.
func (a *WebApp) spend(state string, expires time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for s, exp := range a.spent {
		if now.After(exp) {
			delete(a.spent, s)
		}
	}
	id := stateID(state)
	if _, used := a.spent[id]; used {
		return false
	}
	a.spent[id] = expires
	return true
}

func stateID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// localPath keeps a return_to that is a path on this site (no scheme, host or "//"), else "".
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return ""
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return p
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// MemoryStateStore is a StateStore in this process's memory (for one instance, or tests). It
// holds at most MaxEntries sign-ins in progress: anyone can start a sign-in, so past that a new
// one is refused with ErrTooManySignIns until others finish or expire, and memory stays bounded
// whatever visitors do. Expired entries are swept as it grows (amortised O(1) per Put).
type MemoryStateStore struct {
	// MaxEntries bounds the sign-ins in progress; 0 means 100,000.
	MaxEntries int

	mu        sync.Mutex
	m         map[string]memoryState
	nextSweep int       // sweep when the map holds this many entries,
	sweptAt   time.Time // or, when it is full, at most once a second
}

// ErrTooManySignIns is returned by MemoryStateStore.Put when MaxEntries sign-ins are in
// progress.
var ErrTooManySignIns = errors.New("signin: too many sign-ins in progress; try again later")

type memoryState struct {
	value   []byte
	expires time.Time
}

// Put implements StateStore.
func (s *MemoryStateStore) Put(_ context.Context, id string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]memoryState{}
	}
	limit := s.MaxEntries
	if limit <= 0 {
		limit = 100_000
	}
	now := time.Now()
	if len(s.m) >= max(s.nextSweep, 1024) || (len(s.m) >= limit && now.Sub(s.sweptAt) >= time.Second) {
		for k, v := range s.m {
			if now.After(v.expires) {
				delete(s.m, k)
			}
		}
		s.nextSweep, s.sweptAt = 2*len(s.m), now
	}
	if _, replacing := s.m[id]; !replacing && len(s.m) >= limit {
		return ErrTooManySignIns
	}
	s.m[id] = memoryState{value: bytes.Clone(value), expires: now.Add(ttl)}
	return nil
}

// Take implements StateStore.
func (s *MemoryStateStore) Take(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	delete(s.m, id)
	if !ok || time.Now().After(v.expires) {
		return nil, ErrStateMismatch
	}
	return v.value, nil
}
