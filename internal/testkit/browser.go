package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// RequireBrowserEnv, when set (CI sets it), turns a missing chromium into a test failure
// instead of a skip, so the real browser tests can never silently stop running.
const RequireBrowserEnv = "ENTRAKIT_REQUIRE_BROWSER"

// Chromium returns the path of a headless-capable Chromium, or skips the test (fails it under
// RequireBrowserEnv) when none is installed.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(RequireBrowserEnv) != "" {
		t.Fatalf("chromium is not installed, and %s requires the browser tests", RequireBrowserEnv)
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}
