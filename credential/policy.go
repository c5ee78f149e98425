package credential

import (
	"time"

	"github.com/entrakit/entrakit/internal/cachecore"
)

// Refresh timing (docs/PROTOCOL.md#the-token-cache-and-the-refresh-decision), as
// azure-identity's GetTokenMixin does it.
const (
	refreshWindow   = 5 * time.Minute  // refresh when this close to expiry
	refreshThrottle = 30 * time.Second // after a request, serve the cached token this long
)

// action is what the refresh policy says to do with a cached token.
type action int

const (
	serve          action = iota // return the cached token
	refreshOrServe               // refresh; if that fails, return the still-valid cached token
	fetch                        // no usable token: request one, and return the request's error
)

func (a action) String() string {
	return [...]string{"serve", "refresh-or-serve", "fetch"}[a]
}

// decide is the refresh policy, a pure function of the cached token (nil for none) and the
// time:
//
//	no token, or expired                    -> fetch
//	no refresh due (see fresh)              -> serve
//	fetched, or last tried, in the last 30 s -> serve
//	otherwise (a refresh is due)            -> refresh-or-serve
//
// Times compare on the wall clock: cached times carry no monotonic reading.
func decide(e *cachecore.Entry, now time.Time) action {
	n := now.UnixNano()
	switch {
	case e == nil || n >= e.ExpiresNs:
		return fetch
	case isFresh(e, n):
		return serve
	case n-e.CachedNs < int64(refreshThrottle):
		return serve
	}
	if last := e.AttemptNs(); last != 0 && n-last < int64(refreshThrottle) {
		return serve
	}
	return refreshOrServe
}

// fresh: no refresh is due, that is, more than 5 minutes left and RefreshOn (the server's
// refresh_in, or half of a lifetime of 2 hours or more) not reached.
func fresh(e *cachecore.Entry, now time.Time) bool { return isFresh(e, now.UnixNano()) }

func isFresh(e *cachecore.Entry, n int64) bool {
	return e.ExpiresNs-n > int64(refreshWindow) && (e.RefreshNs == 0 || n < e.RefreshNs)
}
