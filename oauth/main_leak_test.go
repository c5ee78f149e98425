package oauth

import (
	"testing"

	"github.com/entrakit/entrakit/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
