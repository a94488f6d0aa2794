package mediaflow_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/mediaflow/mediaflow"

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	Imports    []string
}

// packages lists the module's packages, by their path in the module ("" is
// the root).
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	require.NoError(t, err)
	pkgs := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		require.NoError(t, dec.Decode(&p))
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")] = p.Imports
	}
	return pkgs
}

func architecture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("ARCHITECTURE.md")
	require.NoError(t, err)
	return string(b)
}

// TestArchitectureListsEveryPackage: each package go list finds has its
// row in ARCHITECTURE.md's table (the first cell names it, in backticks),
// and each row names a package that exists.
func TestArchitectureListsEveryPackage(t *testing.T) {
	rows := map[string]bool{}
	for _, line := range strings.Split(architecture(t), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			name := strings.TrimSuffix(m[1], "/")
			if name == "mediaflow" {
				name = ""
			}
			rows[name] = true
		}
	}
	pkgs := packages(t)
	for p := range pkgs {
		require.True(t, rows[p], "package %q has no row in ARCHITECTURE.md's table", module+"/"+p)
	}
	for r := range rows {
		_, ok := pkgs[r]
		require.True(t, ok, "ARCHITECTURE.md's table has a row for %q, which is no package", r)
	}
}

// hop is one `file: function` of ARCHITECTURE.md's hop list.
type hop struct{ file, function string }

// hops reads the numbered hop list: every "`file.go`: `F`, `G`" in it
// (a function F or a method Type.M), and how many hops it numbers.
func hops(t *testing.T) ([]hop, int) {
	t.Helper()
	doc := architecture(t)
	start := strings.Index(doc, "## One event, hop by hop")
	end := strings.Index(doc, "## Why it is shaped so")
	require.True(t, start >= 0 && end > start, "ARCHITECTURE.md has no hop list")
	ref := regexp.MustCompile("`([\\w/]+\\.go)`: ((?:`[\\w.]+`(?:, )?)+)")
	name := regexp.MustCompile("`([\\w.]+)`")
	var out []hop
	n := 0
	for _, line := range strings.Split(doc[start:end], "\n") {
		if regexp.MustCompile(`^\d+\. `).MatchString(line) {
			n++
		}
		for _, m := range ref.FindAllStringSubmatch(line, -1) {
			for _, f := range name.FindAllStringSubmatch(m[2], -1) {
				out = append(out, hop{m[1], f[1]})
			}
		}
	}
	return out, n
}

// declared lists the functions ("F") and methods ("Type.M") file declares.
func declared(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
	require.NoError(t, err, "ARCHITECTURE.md names %s", file)
	funcs := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		name := fn.Name.Name
		if fn.Recv != nil && len(fn.Recv.List) == 1 {
			typ := fn.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				name = id.Name + "." + name
			}
		}
		funcs[name] = true
	}
	return funcs
}

// TestArchitectureHopsExist: every `file: function` of the hop list is a
// function or method declared in that file, and the count the text gives
// is the hops' count.
func TestArchitectureHopsExist(t *testing.T) {
	list, n := hops(t)
	require.NotEmpty(t, list)
	for _, h := range list {
		require.True(t, declared(t, h.file)[h.function], "ARCHITECTURE.md: %s declares no %s", h.file, h.function)
	}
	require.Contains(t, architecture(t), "\n"+strconv.Itoa(n)+" hops over ", "the count of hops ARCHITECTURE.md gives")
}

// TestImportsGoOneWay: the contract imports nothing of the module; nothing
// the binaries build imports the tools, the tests' packages or the
// examples.
func TestImportsGoOneWay(t *testing.T) {
	pkgs := packages(t)
	for _, imp := range pkgs[""] {
		require.False(t, strings.HasPrefix(imp, module), "the contract imports %s", imp)
	}
	shipped := func(p string) bool {
		return p == "" || !strings.HasPrefix(p, "tools") && !strings.HasPrefix(p, "e2e") &&
			!strings.HasPrefix(p, "examples") && !strings.HasPrefix(p, "deploy") && p != "internal/dbtest" && p != "internal/logtest"
	}
	for p, imports := range pkgs {
		if !shipped(p) {
			continue
		}
		for _, imp := range imports {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				require.True(t, shipped(rel), "%s imports %s, which does not ship", module+"/"+p, imp)
			}
		}
	}
}
