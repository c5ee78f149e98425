package bench

import "testing"

func BenchmarkCachedGetToken(b *testing.B) {
	b.Run("entrakit", CachedEntrakit)
	b.Run("entrakit-10000-keys", CachedEntrakit10000Keys)
	b.Run("msal-go", CachedMSAL)
	b.Run("msal-go-1000-accounts", CachedMSAL1000Accounts)
	b.Run("azidentity", CachedAzidentity)
	b.Run("x-oauth2-reuse", CachedOAuth2)
}

func BenchmarkColdCodeRedemption(b *testing.B) {
	b.Run("entrakit", ColdEntrakit)
	b.Run("net-http", ColdNetHTTP)
}

// TestStampede prints how many token requests 1,000 concurrent callers on a token that needs
// refreshing cause with each library, and holds entrakit to exactly one.
func TestStampede(t *testing.T) {
	got := Stampede(t, 1000)
	t.Logf("token requests from 1,000 concurrent callers: %v", got)
	if got["entrakit"] != 1 {
		t.Errorf("entrakit sent %d requests, want 1", got["entrakit"])
	}
}
