package credential

import (
	"syscall"
	"time"
)

// fastWallNow reads CLOCK_REALTIME alone through the vDSO's gettimeofday (microseconds are
// plenty for comparisons at the scale of seconds), at half the cost of time.Now.
func fastWallNow() time.Time {
	var tv syscall.Timeval
	if syscall.Gettimeofday(&tv) != nil {
		return time.Now().Round(0)
	}
	return time.Unix(tv.Sec, tv.Usec*1000)
}
