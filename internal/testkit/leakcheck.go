// Package testkit holds what entrakit's tests share: a goroutine leak check for TestMain, and a real
// gnome-keyring on a private D-Bus for the Secret Service tests. It is for tests only.
//
// LeakCheckMain verifies, at the end of a package's tests, that no goroutine was left behind:
// servers stopped, connections closed, requests finished.
package testkit

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// LeakCheckMain runs the tests and then fails the run if, within a few seconds, the goroutines
// that the tests started have not ended. Use it as:
//
//	func TestMain(m *testing.M) { testkit.LeakCheckMain(m) }
//
// It is skipped under -test.short and while fuzzing (the fuzzing engine keeps goroutines).
func LeakCheckMain(m *testing.M) {
	base := len(goroutines())
	code := m.Run()
	if code == 0 && !testing.Short() && !fuzzing() {
		if leaked := wait(base, 5*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left behind after the tests (baseline %d):\n%s\n", base, leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

func wait(base int, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		gs := goroutines()
		if len(gs) <= base {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(gs, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// goroutines returns the stacks of the goroutines that tests could have left, leaving out this
// checker, the test runner, and process-wide loops the standard library keeps for good.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "testkit.goroutines"), strings.Contains(g, "testing.(*M)."),
			strings.Contains(g, "os/signal.loop"), strings.Contains(g, "os/signal.signal_recv"),
			strings.Contains(g, "runtime.ensureSigM"), strings.Contains(g, "testing.runFuzzing"),
			strings.Contains(g, "testing.(*F)."), strings.Contains(g, "testing/internal/testdeps"):
			continue
		}
		out = append(out, g)
	}
	return out
}
