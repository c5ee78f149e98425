package signin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/entrakit/entrakit/credential"
)

// DefaultLoopbackTimeout is how long Loopback waits for the user when LoopbackOptions.Timeout
// is zero.
const DefaultLoopbackTimeout = 5 * time.Minute

// LoopbackOptions shape a Loopback sign-in; nil means defaults.
type LoopbackOptions struct {
	// Prompt, LoginHint, DomainHint and Claims go into the authorize request (RedirectURI is
	// the listener's).
	RequestOptions
	// Port is the listener's port on 127.0.0.1; 0 means a free one (Entra ignores the port of
	// a loopback redirect URI).
	Port int
	// Path is the callback's path, which Entra matches against the app's registered loopback
	// redirect URI: "" means "/", as for a registered "http://localhost". RandomPath makes it
	// unguessable instead ("/" and 22 random characters), for authorities that accept any path.
	Path       string
	RandomPath bool
	// Timeout bounds the wait for the user; 0 means DefaultLoopbackTimeout.
	Timeout time.Duration
	// OpenBrowser opens a URL in a browser; nil means the system browser (OpenSystemBrowser).
	// It is given the URL of a private local file that redirects to Entra, never the authorize
	// URL itself (see the package's security considerations).
	OpenBrowser func(url string) error
	// NoBrowser prints the authorize URL to Out instead of opening a browser.
	NoBrowser bool
	// Out receives what the user must read (the URL with NoBrowser, or when no browser can be
	// opened); nil means os.Stderr.
	Out io.Writer
}

// Loopback signs a user in from a command-line program (RFC 8252 section 7.3): it listens on
// 127.0.0.1, opens the browser at Entra's sign-in page (or prints its URL), waits for the
// redirect back, checks it, and redeems the code. A request to the listener with a wrong or
// missing state gets an error page and the wait goes on. The wait ends with the sign-in, with
// ErrTimeout after the timeout, or with an error wrapping context.Canceled when ctx ends (the
// user pressed Ctrl-C, say).
func (c *Config) Loopback(ctx context.Context, opts *LoopbackOptions) (*Result, error) {
	cfg, err := c.validate()
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &LoopbackOptions{}
	}
	timeout := opts.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultLoopbackTimeout
	case timeout < 0:
		return nil, fmt.Errorf("%w: LoopbackOptions.Timeout must be positive", credential.ErrInvalidInput)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d", credential.ErrInvalidInput, opts.Port)
	}
	path := opts.Path
	switch {
	case opts.RandomPath:
		path = "/" + rand.Text() + "/"
	case path == "":
		path = "/"
	case !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("%w: LoopbackOptions.Path must start with / and have no query or fragment", credential.ErrInvalidInput)
	}
	out := opts.Out
	if out == nil {
		out = os.Stderr
	}

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)))
	if err != nil {
		return nil, fmt.Errorf("signin: the loopback listener: %w", err)
	}
	defer ln.Close()
	ro := opts.RequestOptions
	ro.RedirectURI = "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + path
	req, err := cfg.newRequest(&ro)
	if err != nil {
		return nil, err
	}

	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		res, err := req.Finish(ctx, r.URL.Query())
		if errors.Is(err, ErrStateMismatch) || errors.Is(err, ErrStateUsed) {
			writePage(w, http.StatusBadRequest, pageWrongState, "")
			return // not this sign-in's callback: keep waiting
		}
		if err != nil {
			writePage(w, http.StatusBadRequest, pageFailed, err.Error())
		} else {
			writePage(w, http.StatusOK, pageSignedIn, res.Account.Username)
		}
		done <- outcome{res, err}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() { // let the last page reach the browser
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if opts.NoBrowser {
		fmt.Fprintf(out, "Sign in at:\n%s\n", req.URL)
	} else {
		cleanup, err := openPrivately(req.URL, opts.OpenBrowser)
		defer cleanup()
		if err != nil {
			fmt.Fprintf(out, "No browser could be opened (%v). Sign in at:\n%s\n", err, req.URL)
		}
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case o := <-done:
		return o.res, o.err
	case <-timer.C:
		return nil, fmt.Errorf("%w (%v)", ErrTimeout, timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("signin: cancelled: %w", ctx.Err())
	}
}
