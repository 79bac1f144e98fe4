// Package arch_test enforces heepr's import rules (ARCHITECTURE.md, rules 3
// and 4) on the package graph that `go list -deps -json ./...` reports.
// Only production imports are checked; test files may reach further.
package arch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const mod = "github.com/heepr/heepr"

// pkg is the part of `go list -json` output the rules read.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// rule checks the package list and returns one line per violation.
type rule func(pkgs []pkg) []string

// rel strips the module path: "modules/identity/domain", "" for the root, or
// false when p is not one of ours.
func rel(p string) (string, bool) {
	if p == mod {
		return "", true
	}
	r, ok := strings.CutPrefix(p, mod+"/")
	return r, ok
}

// moduleOf returns the module ("identity") and the rest of the path inside it
// ("", "domain", "identitytest") for a package under modules/.
func moduleOf(p string) (name, sub string, ok bool) {
	r, ours := rel(p)
	if !ours {
		return "", "", false
	}
	r, ok = strings.CutPrefix(r, "modules/")
	if !ok || r == "" {
		return "", "", false
	}
	name, sub, _ = strings.Cut(r, "/")
	return name, sub, true
}

// under reports whether ours-relative path r is dir or below it.
func under(r, dir string) bool { return r == dir || strings.HasPrefix(r, dir+"/") }

func isDomain(sub string) bool { return under(sub, "domain") }

// ownPackages are the packages of this module.
func ownPackages(pkgs []pkg) []pkg {
	var out []pkg
	for _, p := range pkgs {
		if _, ok := rel(p.ImportPath); ok && !p.Standard {
			out = append(out, p)
		}
	}
	return out
}

// checkModuleBoundaries (a): a package under modules/<m>/ imports another
// module only through its root package; modules/kernel may be imported by
// anyone, and the kernel itself imports no other module.
func checkModuleBoundaries(pkgs []pkg) []string {
	var out []string
	for _, p := range ownPackages(pkgs) {
		m, _, ok := moduleOf(p.ImportPath)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			o, osub, ok := moduleOf(imp)
			if !ok || o == m {
				continue
			}
			switch {
			case m == "kernel":
				out = append(out, fmt.Sprintf("%s imports %s: the kernel imports no other module", p.ImportPath, imp))
			case o == "kernel" && osub == "":
			case osub != "":
				out = append(out, fmt.Sprintf("%s imports %s: use the module's root package %s/modules/%s", p.ImportPath, imp, mod, o))
			}
		}
	}
	return out
}

// forbiddenInDomain are standard packages the pure domain must not use:
// HTTP, SQL, and context-carried state (ARCHITECTURE.md rule 3).
var forbiddenInDomain = []string{"net/http", "database/sql", "context"}

// checkPureDomain (b): modules/*/domain imports only the standard library
// (minus forbiddenInDomain), modules/kernel, and its own domain tree.
func checkPureDomain(pkgs []pkg) []string {
	std := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	var out []string
	for _, p := range ownPackages(pkgs) {
		m, sub, ok := moduleOf(p.ImportPath)
		if !ok || !isDomain(sub) {
			continue
		}
		for _, imp := range p.Imports {
			if std[imp] {
				for _, f := range forbiddenInDomain {
					if under(imp, f) {
						out = append(out, fmt.Sprintf("%s imports %s: the domain stays free of I/O and context", p.ImportPath, imp))
					}
				}
				continue
			}
			if imp == mod+"/modules/kernel" {
				continue
			}
			if o, osub, ok := moduleOf(imp); ok && o == m && isDomain(osub) {
				continue
			}
			out = append(out, fmt.Sprintf("%s imports %s: a domain package imports only the standard library and modules/kernel", p.ImportPath, imp))
		}
	}
	return out
}

// isFixture reports a module's test fixture package, modules/<m>/<m>test:
// it builds real stores for tests, so it may use adapters (never cmd/).
func isFixture(m, sub string) bool { return sub == m+"test" }

// checkModulesInward (c): nothing under modules/ imports adapters/, api/ or
// cmd/, except that a module's fixture package may use adapters/.
func checkModulesInward(pkgs []pkg) []string {
	var out []string
	for _, p := range ownPackages(pkgs) {
		m, sub, ok := moduleOf(p.ImportPath)
		if !ok {
			continue
		}
		for _, imp := range p.Imports {
			r, ours := rel(imp)
			if !ours {
				continue
			}
			for _, outer := range []string{"adapters", "api", "cmd"} {
				if under(r, outer) && !(outer == "adapters" && isFixture(m, sub)) {
					out = append(out, fmt.Sprintf("%s imports %s: modules never depend on %s/", p.ImportPath, imp, outer))
				}
			}
		}
	}
	return out
}

// checkAdapters (d): adapters never import cmd/, and reach into a module only
// through its root package or its domain package (stores map rows to domain
// types); never a module's other subpackages (fakes, fixtures).
func checkAdapters(pkgs []pkg) []string {
	var out []string
	for _, p := range ownPackages(pkgs) {
		r, _ := rel(p.ImportPath)
		if !under(r, "adapters") {
			continue
		}
		for _, imp := range p.Imports {
			ir, ours := rel(imp)
			if !ours {
				continue
			}
			if under(ir, "cmd") {
				out = append(out, fmt.Sprintf("%s imports %s: adapters never import cmd/", p.ImportPath, imp))
			}
			if _, sub, ok := moduleOf(imp); ok && sub != "" && !isDomain(sub) {
				out = append(out, fmt.Sprintf("%s imports %s: adapters use a module's root or domain package only", p.ImportPath, imp))
			}
		}
	}
	return out
}

var rules = map[string]rule{
	"module boundaries": checkModuleBoundaries,
	"pure domain":       checkPureDomain,
	"modules inward":    checkModulesInward,
	"adapters":          checkAdapters,
}

// goList runs `go list -e -deps -json ./...` at the module root.
func goList(t *testing.T) []pkg {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	require.NotEqual(t, ".", root, "not inside a Go module")

	cmd := exec.Command("go", "list", "-e", "-deps", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())

	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestRealTree(t *testing.T) {
	t.Parallel()
	pkgs := goList(t)

	// The list must hold what the rules are about, or every check passes vacuously.
	seen := map[string]pkg{}
	var broken []string
	for _, p := range pkgs {
		seen[p.ImportPath] = p
		if _, ours := rel(p.ImportPath); ours && p.Error != nil {
			broken = append(broken, p.ImportPath+": "+p.Error.Err)
		}
	}
	require.Empty(t, broken, "go list reports broken packages")
	for _, want := range []string{"modules/kernel", "modules/identity", "modules/identity/domain", "modules/notification", "adapters/store", "adapters/http", "cmd/heepr"} {
		require.Contains(t, seen, mod+"/"+want)
	}
	require.True(t, seen["fmt"].Standard, "go list -deps must list the standard library")

	for name, check := range rules {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Empty(t, check(pkgs))
		})
	}
}

// Each rule fires on a package list that breaks it, and stays quiet on the
// imports it allows.
func TestRulesFire(t *testing.T) {
	t.Parallel()
	std := func(paths ...string) []pkg {
		out := make([]pkg, len(paths))
		for i, p := range paths {
			out[i] = pkg{ImportPath: p, Standard: true}
		}
		return out
	}
	own := func(path string, imports ...string) pkg {
		for i, imp := range imports {
			if strings.HasPrefix(imp, "~") {
				imports[i] = mod + strings.TrimPrefix(imp, "~")
			}
		}
		return pkg{ImportPath: mod + path, Imports: imports, Module: &struct{ Path string }{mod}}
	}
	base := std("fmt", "time", "strings", "context", "net/http", "net/http/httptest", "database/sql")

	cases := []struct {
		name  string
		rule  rule
		pkg   pkg
		fires bool
	}{
		// (a) module boundaries
		{"module imports other module's root", checkModuleBoundaries, own("/modules/ordering", "~/modules/ledger"), false},
		{"module imports kernel", checkModuleBoundaries, own("/modules/ordering/domain", "~/modules/kernel"), false},
		{"module imports its own domain", checkModuleBoundaries, own("/modules/ordering", "~/modules/ordering/domain"), false},
		{"module imports other module's domain", checkModuleBoundaries, own("/modules/ordering", "~/modules/ledger/domain"), true},
		{"module test kit imports other module's fixtures", checkModuleBoundaries, own("/modules/ordering/orderingtest", "~/modules/identity/identitytest"), true},
		{"module imports a kernel subpackage", checkModuleBoundaries, own("/modules/ordering", "~/modules/kernel/internal"), true},
		{"kernel imports a module", checkModuleBoundaries, own("/modules/kernel", "~/modules/identity"), true},
		// (b) pure domain
		{"domain imports stdlib and kernel", checkPureDomain, own("/modules/ordering/domain", "fmt", "time", "~/modules/kernel"), false},
		{"domain subpackage imports its domain", checkPureDomain, own("/modules/ordering/domain/pricing", "~/modules/ordering/domain"), false},
		{"domain imports bun", checkPureDomain, own("/modules/ordering/domain", "github.com/uptrace/bun"), true},
		{"domain imports River", checkPureDomain, own("/modules/ordering/domain", "github.com/riverqueue/river"), true},
		{"domain imports pgx", checkPureDomain, own("/modules/ordering/domain", "github.com/jackc/pgx/v5"), true},
		{"domain imports net/http", checkPureDomain, own("/modules/ordering/domain", "net/http"), true},
		{"domain imports net/http subpackage", checkPureDomain, own("/modules/ordering/domain", "net/http/httptest"), true},
		{"domain imports database/sql", checkPureDomain, own("/modules/ordering/domain", "database/sql"), true},
		{"domain imports context", checkPureDomain, own("/modules/ordering/domain", "context"), true},
		{"domain imports its module root", checkPureDomain, own("/modules/ordering/domain", "~/modules/ordering"), true},
		{"domain imports another domain", checkPureDomain, own("/modules/ordering/domain", "~/modules/ledger/domain"), true},
		{"domain imports an adapter", checkPureDomain, own("/modules/ordering/domain", "~/adapters/store"), true},
		// (c) modules point inward
		{"module imports an adapter", checkModulesInward, own("/modules/identity", "~/adapters/store"), true},
		{"module imports api", checkModulesInward, own("/modules/identity", "~/api"), true},
		{"module imports the client", checkModulesInward, own("/modules/identity/identitytest", "~/api/client"), true},
		{"module imports cmd", checkModulesInward, own("/modules/identity", "~/cmd/heepr"), true},
		{"fixture package uses the store", checkModulesInward, own("/modules/ledger/ledgertest", "~/adapters/store"), false},
		{"fixture package imports cmd", checkModulesInward, own("/modules/ledger/ledgertest", "~/cmd/heepr"), true},
		{"non-fixture subpackage uses the store", checkModulesInward, own("/modules/ledger/fake", "~/adapters/store"), true},
		{"module imports kernel and stdlib", checkModulesInward, own("/modules/identity", "~/modules/kernel", "context"), false},
		{"prefix lookalike is not api", checkModulesInward, own("/modules/identity", "~/apiary"), false},
		// (d) adapters
		{"adapter imports module root and domain", checkAdapters, own("/adapters/store", "~/modules/identity", "~/modules/identity/domain", "~/modules/kernel"), false},
		{"adapter imports cmd", checkAdapters, own("/adapters/http", "~/cmd/heepr"), true},
		{"adapter imports a module's fixtures", checkAdapters, own("/adapters/store", "~/modules/identity/identitytest"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := c.rule(append(append([]pkg{}, base...), c.pkg))
			if c.fires {
				require.Len(t, got, 1, "violations: %v", got)
				require.Contains(t, got[0], c.pkg.ImportPath)
			} else {
				require.Empty(t, got)
			}
		})
	}
}

// A package outside this module (a dependency that happens to import
// anything) is never judged.
func TestRulesIgnoreForeignPackages(t *testing.T) {
	t.Parallel()
	foreign := []pkg{{ImportPath: "example.com/x/modules/a/domain", Imports: []string{"net/http", mod + "/cmd/heepr"}}}
	for name, check := range rules {
		require.Empty(t, check(foreign), "rule %q", name)
	}
}
