package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatementsGoThroughWithConn keeps the recovery of withConn for store
// methods added later: outside Open and the connection plumbing, no
// function of the package touches the *sql.DB (s.db) itself.
func TestStatementsGoThroughWithConn(t *testing.T) {
	allowed := map[string]bool{"Open": true, "migrate": true, "Close": true, "withConn": true, "resetIdle": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || allowed[fn.Name.Name] {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "db" {
					t.Errorf("%s: %s uses the pool directly: run its statements in s.withConn(ctx, func(c *sql.Conn) error { … })",
						fset.Position(sel.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
}
