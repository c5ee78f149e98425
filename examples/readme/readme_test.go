// Package readme checks that every Go snippet of the README compiles: each is a whole file
// (package clause, imports, every variable used), built here in a module that depends on
// entrakit the way the README tells users to (a replace directive to a clone).
package readme

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestTheREADMEsGoSnippetsCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(snippets) < 6 {
		t.Fatalf("only %d Go snippets found in the README", len(snippets))
	}
	// The snippets go into a directory of this module, one package each, so that this
	// module's go.mod (its requires and replaces) builds them.
	dir, err := os.MkdirTemp(".", "snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for i, m := range snippets {
		src := m[1]
		if !bytes.HasPrefix(src, []byte("package ")) {
			t.Errorf("snippet %d does not start with a package clause:\n%s", i+1, src)
			continue
		}
		name := "main.go"
		if bytes.Contains(src, []byte("func Test")) {
			name = "snippet_test.go"
		}
		pkg := filepath.Join(dir, "s"+string(rune('a'+i)))
		if err := os.Mkdir(pkg, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, name), src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// go vet type-checks every file, test files included, and flags mistakes; no binaries.
	cmd := exec.Command("go", "vet", "./"+filepath.Base(dir)+"/...")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("the README's snippets do not compile:\n%s", strings.ReplaceAll(string(out), dir, "README"))
	}
}
