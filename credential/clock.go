package credential

import "time"

// wallNow reads the wall clock, the only clock the credentials compare times on (a token's
// expiry must hold across a suspend, while the monotonic clock stops). It is the default Now.
// Where the system offers a cheaper wall-clock-only read than time.Now, which also reads the
// monotonic clock, wallNow uses it (see clock_linux_amd64.go): it is on every cached GetToken.
func wallNow() time.Time { return fastWallNow() }
