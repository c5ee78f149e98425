package authority

// This test guards the module's layout (DESIGN section 1). It lives in authority, the first
// package of the import order, and reads the whole module from the directory above.

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/entrakit/entrakit"

// order lists the packages in import order: each may import only those before it.
var order = []string{"authority", "oauth", "entra", "cache", "credential", "vscode"}

// projectImports returns the project packages that the non-test files of dir import.
func projectImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if rest, ok := strings.CutPrefix(p, module+"/"); ok {
				out = append(out, rest)
			}
		}
	}
	return out
}

func TestPackagesImportOneWayOnly(t *testing.T) {
	root := ".."
	for i, pkg := range order {
		dir := filepath.Join(root, pkg)
		if _, err := os.Stat(dir); err != nil {
			continue // a package of a later issue
		}
		for _, imp := range projectImports(t, dir) {
			j := slices.Index(order, imp)
			if j < 0 || j >= i {
				t.Errorf("%s imports %s: only packages before it in %v are allowed", pkg, imp, order)
			}
		}
	}
	if imps := projectImports(t, filepath.Join(root, "credential")); len(imps) < 4 {
		t.Fatalf("credential's project imports read as %v: the check is not seeing imports", imps)
	}
	if imps := projectImports(t, filepath.Join(root, "httptest_fixtures")); len(imps) != 0 {
		t.Errorf("httptest_fixtures imports %v; it must stay an independent implementation", imps)
	}
}

func TestRootModuleDependencies(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"golang.org/x/oauth2", "github.com/golang-jwt/jwt/v5", "github.com/google/go-cmp", "github.com/godbus/dbus/v5"}
	var direct []string
	inRequire := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "module "):
			if line != "module "+module {
				t.Errorf("module line %q", line)
			}
		case line == "require (":
			inRequire = true
		case line == ")":
			inRequire = false
		case strings.HasPrefix(line, "require ") || inRequire:
			f := strings.Fields(strings.TrimPrefix(line, "require "))
			if len(f) >= 2 && !strings.Contains(line, "// indirect") {
				direct = append(direct, f[0])
			}
		}
	}
	for _, d := range direct {
		if !slices.Contains(allowed, d) {
			t.Errorf("root module depends directly on %s; DESIGN allows only %v (others need a README reason)", d, allowed)
		}
	}
	for _, need := range allowed[:3] {
		if !slices.Contains(direct, need) {
			t.Errorf("go.mod lacks %s", need)
		}
	}
	for _, banned := range []string{"microsoft-authentication-library-for-go", "azure-sdk-for-go"} {
		if strings.Contains(string(b), banned) {
			t.Errorf("go.mod mentions %s", banned)
		}
	}
}

// TestEveryExportedNameIsDocumented: every public package has a package doc, and every exported
// name (types, functions, methods, and the names in var and const blocks) a doc comment.
func TestEveryExportedNameIsDocumented(t *testing.T) {
	pkgs := append(slices.Clone(order), "httptest_fixtures")
	for _, pkg := range pkgs {
		dir := filepath.Join("..", pkg)
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		fset := token.NewFileSet()
		names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		var files []*ast.File
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		{
			d, err := doc.NewFromFiles(fset, files, module+"/"+pkg)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(d.Doc, "Security") && !strings.Contains(d.Doc, "MUST NOT") {
				t.Errorf("package %s: its doc has no security note", pkg)
			}
			check := func(kind, name, text string) {
				if strings.TrimSpace(text) == "" {
					t.Errorf("%s: %s %s has no doc comment", pkg, kind, name)
				}
			}
			values := func(vs []*doc.Value) {
				for _, v := range vs {
					for _, spec := range v.Decl.Specs {
						vspec := spec.(*ast.ValueSpec)
						for _, n := range vspec.Names {
							if n.IsExported() && strings.TrimSpace(v.Doc) == "" && vspec.Doc.Text() == "" && vspec.Comment.Text() == "" {
								t.Errorf("%s: %s has no doc comment", pkg, n.Name)
							}
						}
					}
				}
			}
			values(d.Consts)
			values(d.Vars)
			for _, f := range d.Funcs {
				check("func", f.Name, f.Doc)
			}
			for _, typ := range d.Types {
				check("type", typ.Name, typ.Doc)
				values(typ.Consts)
				values(typ.Vars)
				for _, f := range typ.Funcs {
					check("func", f.Name, f.Doc)
				}
				for _, m := range typ.Methods {
					if ast.IsExported(m.Name) && m.Name != "Error" && m.Name != "Unwrap" && m.Name != "Format" {
						check("method", typ.Name+"."+m.Name, m.Doc)
					}
				}
			}
		}
	}
}
