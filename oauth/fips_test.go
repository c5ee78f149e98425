package oauth

import (
	"crypto/fips140"
	"os"
	"testing"
)

// .ci/run runs the tests again in FIPS 140-3 mode and says so with ENTRAKIT_REQUIRE_FIPS: "on"
// (FIPS mode) or "only" (non-approved algorithms refused), so that a run that silently left
// the mode off fails here instead of passing unnoticed.
func TestFIPSModeWhenRequired(t *testing.T) {
	want := os.Getenv("ENTRAKIT_REQUIRE_FIPS")
	if want == "" {
		t.Skip("ENTRAKIT_REQUIRE_FIPS is not set")
	}
	if !fips140.Enabled() {
		t.Fatalf("FIPS 140-3 mode is off; run with GODEBUG=fips140=%s", want)
	}
	if want == "only" && !fips140.Enforced() {
		t.Fatal("FIPS 140-3 mode is on but not enforced; run with GODEBUG=fips140=only")
	}
	t.Logf("FIPS 140-3 mode, enforced %v", fips140.Enforced())
	// The PKCE verifier and challenge work in the mode: crypto/rand and SHA-256.
	if v := NewVerifier(); len(v) != 43 || len(S256Challenge(v)) != 43 {
		t.Errorf("PKCE in FIPS mode: verifier %d chars, challenge %d", len(v), len(S256Challenge(NewVerifier())))
	}
}
