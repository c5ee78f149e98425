package credential

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/entrakit/entrakit/authority"
	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/oauth"
)

// RetryOptions bound the retries of a token request: 408, 429, 500, 502, 503, 504 and reset
// connections are retried (docs/PROTOCOL.md#retries-limits-and-redirects). The zero value
// means the defaults. A retry never waits while holding an account's cache lock, and never
// waits past the caller's deadline.
type RetryOptions struct {
	// MaxRetries bounds the retries of one request: 0 means 3, a negative value none.
	MaxRetries int
	// Delay is the first wait when the server names none (then doubling, with jitter): 0
	// means 800 ms.
	Delay time.Duration
	// MaxDelay is the longest wait the server may ask for (Retry-After and the like); a longer
	// one ends the retries and the server's answer is returned. 0 means 60 s.
	MaxDelay time.Duration
}

// settings are what every credential's options share, validated in one place (newSettings).
type settings struct {
	name     string
	clientID string
	secret   string
	cfg      authority.Config
	http     *http.Client
	cache    *cache.Cache
	logger   *slog.Logger
	now      func() time.Time
	retry    RetryOptions
}

// newSettings validates the options shared by AuthorizationCodeOptions and RefreshTokenOptions
// (whose fields AuthorizationCodeOptions repeats). Errors wrap ErrInvalidInput; nothing is sent.
func newSettings(name, tenantID, clientID string, o *RefreshTokenOptions) (settings, error) {
	if strings.TrimSpace(clientID) == "" || !validScope(clientID) {
		return settings{}, fmt.Errorf("%w: a client ID is required (the application ID of the app registration)", ErrInvalidInput)
	}
	cfg, err := authority.NewConfig(o.AuthorityHost, tenantID, o.AdditionallyAllowedTenants, os.Getenv)
	if err != nil {
		return settings{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if o.Retry.Delay < 0 || o.Retry.MaxDelay < 0 {
		return settings{}, fmt.Errorf("%w: Retry delays must not be negative", ErrInvalidInput)
	}
	s := settings{name: name, clientID: clientID, secret: o.ClientSecret, cfg: cfg, http: o.HTTPClient,
		cache: o.Cache, logger: o.Logger, now: o.Now, retry: o.Retry}
	if s.now == nil {
		s.now = wallNow
	}
	if s.http == nil {
		s.http = sharedHTTPClient()
	}
	return s, nil
}

func (s *settings) oauthClient() oauth.Client {
	return oauth.Client{HTTPClient: s.http, Now: s.now, Logger: s.logger,
		MaxRetries: s.retry.MaxRetries, Backoff: s.retry.Delay, MaxRetryWait: s.retry.MaxDelay}
}

// sharedHTTPClient is what credentials built without an HTTPClient use: one transport, so they
// share its connection pool and TLS sessions instead of each opening its own.
var sharedHTTPClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
})
