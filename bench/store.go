package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/entrakit/entrakit/cache"
)

// PersistentRefresh measures a refresh through a FileStore that holds accounts accounts: the
// refresh locks, reloads and saves one account's partition, so its cost must not grow with the
// others. The other accounts are copies of the measured one's partition file under their own
// identities (written without fsync, to keep the set-up short).
func PersistentRefresh(accounts int) func(*testing.B) {
	return func(b *testing.B) {
		r := StartRemote(b)
		defer r.Close()
		dir := filepath.Join(b.TempDir(), "tokens")
		st, err := cache.NewFileStore(dir)
		if err != nil {
			b.Fatal(err)
		}
		c, _ := cache.New(&cache.Options{Store: st})
		clock := &movingClock{}
		cred := entrakitFor(b, r.fake(b), c, clock.now, 1)
		accts := c.Accounts()
		if len(accts) != 1 {
			b.Fatalf("%d accounts after the sign-in", len(accts))
		}
		fillAccounts(b, dir, accts[0], accounts-1)
		if n := len(c.Accounts()); n != accounts {
			b.Fatalf("the store lists %d accounts, want %d", n, accounts)
		}
		refreshes(b, r, clock, cred)
	}
}

// fillAccounts writes n more accounts' partition files into dir, copies of a's.
func fillAccounts(b *testing.B, dir string, a cache.Account, n int) {
	src := filepath.Join(dir, cache.PartitionKey(a.Environment, ClientID, a.HomeAccountID)+".json")
	template, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		home := fmt.Sprintf("%08d-0000-4000-8000-000000000000.%s", i, a.TenantID)
		data := bytes.ReplaceAll(template, []byte(a.HomeAccountID), []byte(home))
		if err := os.WriteFile(filepath.Join(dir, cache.PartitionKey(a.Environment, ClientID, home)+".json"), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
