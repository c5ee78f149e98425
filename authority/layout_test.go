package authority

// This test guards the module's layout (the import order of the package list in the README). It lives in authority, the first
// package of the import order, and reads the whole module from the directory above.

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const module = "github.com/entrakit/entrakit"

// order lists the packages in import order: each may import only those before it.
// internal/safefile reads files without blocking on a planted FIFO; internal/cachecore is the
// engine room of cache, which credential drives too.
var order = []string{"internal/safefile", "authority", "oauth", "entra", "keyring", "internal/cachecore", "cache", "credential", "signin", "vscode"}

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
			t.Errorf("root module depends directly on %s; only %v are allowed (others need a reason in the README's dependency table)", d, allowed)
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

// TestProtocolReferencesResolve: every docs/PROTOCOL.md section anchor cited in the code names a section
// of the document, and every protocol package's doc points to it.
func TestProtocolReferencesResolve(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			a := strings.Map(func(r rune) rune {
				switch {
				case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
					return r
				case r >= 'A' && r <= 'Z':
					return r + 'a' - 'A'
				case r == ' ':
					return '-'
				}
				return -1
			}, h)
			anchors[a] = true
		}
	}
	cited := 0
	ref := regexp.MustCompile(`PROTOCOL\.md#([a-z0-9-]+)`)
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			cited++
			if !anchors[m[1]] {
				t.Errorf("%s cites PROTOCOL.md#%s, which is not a section", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited < 15 {
		t.Errorf("only %d citations of docs/PROTOCOL.md in the code", cited)
	}
	for _, pkg := range []string{"authority", "oauth", "entra", "cache", "credential", "vscode"} {
		files, _ := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		found := false
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if i := strings.Index(string(b), "\npackage "+pkg); i > 0 && strings.Contains(string(b[:i]), "docs/PROTOCOL.md") {
				found = true
			}
		}
		if !found {
			t.Errorf("package %s's doc does not point to docs/PROTOCOL.md", pkg)
		}
	}
}

// SECURITY.md names the tests that hold each promise: every one must exist, in the package
// named before it (fuzz targets anywhere), so that a renamed or deleted test cannot leave a
// promise pointing at nothing.
func TestSecurityPromisesNameRealTests(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]map[string]bool{} // package directory -> test functions
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../")))
		if funcs[dir] == nil {
			funcs[dir] = map[string]bool{}
		}
		for _, m := range regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)\w+)\(`).FindAllStringSubmatch(string(b), -1) {
			funcs[dir][m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pkg, checked := "", 0
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		name := m[1]
		if _, ok := funcs[name]; ok {
			pkg = name
			continue
		}
		switch {
		case strings.HasPrefix(name, "Fuzz"):
			found := false
			for _, fs := range funcs {
				found = found || fs[name]
			}
			if !found {
				t.Errorf("SECURITY.md names fuzz target %s, which does not exist", name)
			}
		case strings.HasPrefix(name, "Test"):
			if !funcs[pkg][name] {
				t.Errorf("SECURITY.md names %s in package %s, where it does not exist", name, pkg)
			}
		default:
			continue
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d tests named in SECURITY.md were found to check", checked)
	}
}

// Errors speak in one voice (Go Code Review Comments, "Error Strings"): every error text the
// root module makes, with errors.New or fmt.Errorf, starts in lower case (unless with a name
// such as AADSTS or AdditionallyAllowedTenants), ends without a period and holds no line break,
// so that wrapped errors read as one line.
func TestErrorsSpeakInOneVoice(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); (err == nil && path != "..") || path != ".." && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir // nested modules, .ci, test data
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || !(x.Name == "errors" && sel.Sel.Name == "New" || x.Name == "fmt" && sel.Sel.Name == "Errorf") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			text, _ := strconv.Unquote(lit.Value)
			checked++
			first, _, _ := strings.Cut(text, " ")
			name := strings.IndexFunc(first[min(1, len(first)):], unicode.IsUpper) >= 0
			switch {
			case strings.HasSuffix(text, "."):
				t.Errorf("%s: the error %q ends with a period", fset.Position(lit.Pos()), text)
			case strings.ContainsAny(text, "\r\n"):
				t.Errorf("%s: the error %q holds a line break", fset.Position(lit.Pos()), text)
			case text != "" && unicode.IsUpper(rune(text[0])) && !name:
				t.Errorf("%s: the error %q starts with a capital", fset.Position(lit.Pos()), text)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Errorf("only %d error texts found to check", checked)
	}
}
