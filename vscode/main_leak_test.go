package vscode

import (
	"testing"

	"github.com/entrakit/entrakit/internal/testkit"
)

func TestMain(m *testing.M) { testkit.LeakCheckMain(m) }
