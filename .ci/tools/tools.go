//go:build tools

// Package tools pins the versions of the programs .ci/run runs: govulncheck, and the generator
// that turns the Go vulnerability database's OSV files, from the module proxy, into a database
// govulncheck reads from disk (CI machines reach the module proxy, not vuln.go.dev).
package tools

import (
	_ "golang.org/x/vuln/cmd/govulncheck"
	_ "golang.org/x/vulndb/cmd/indexdb"
)
