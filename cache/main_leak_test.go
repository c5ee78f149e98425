package cache

import (
	"os"
	"testing"

	"github.com/entrakit/entrakit/internal/testkit"
)

// TestMain runs the test binary as a helper process when a multi-process test asks for one.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "writer":
		os.Exit(writerHelper())
	case "reader":
		os.Exit(readerHelper())
	}
	testkit.LeakCheckMain(m)
}
