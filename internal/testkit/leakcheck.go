// Package testkit holds what entrakit's tests share: a goroutine leak check for TestMain, and a real
// gnome-keyring on a private D-Bus for the Secret Service tests. It is for tests only.
//
// LeakCheckMain verifies, at the end of a package's tests, that no goroutine was left behind:
// servers stopped, connections closed, requests finished.
package testkit

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then fails the run if, within a few seconds, the goroutine count does
// not return to what it was before them. Use it as: func TestMain(m *testing.M) { testkit.LeakCheckMain(m) }.
func LeakCheckMain(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 && !testing.Short() {
		if leaked := wait(base, 5*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines left behind after the tests (baseline %d):\n%s\n", base, leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func wait(base int, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		n := runtime.NumGoroutine()
		if n <= base {
			return ""
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return interesting(string(buf))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// interesting drops the stacks of the test runner itself.
func interesting(stacks string) string {
	var out []string
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "leakcheck.wait") || strings.Contains(g, "testing.(*M).") {
			continue
		}
		out = append(out, g)
	}
	return strings.Join(out, "\n\n")
}
