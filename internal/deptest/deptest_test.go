// Package deptest enforces the import direction of docs/design.md: edge →
// regional/bucketsvc clients; regional → metasvc/storagesvc/bucketsvc
// clients; background → clients; nothing imports edge or background;
// internal/ imports no part (nor do its tests); testbed/ serves only the
// binary and tests.
package deptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mod = "github.com/meridian-s3/meridian/"

// rule: packages under From may not import packages under any of Deny,
// unless the import is under one of Allow. Why says what the rule protects.
type rule struct {
	From  string
	Deny  []string
	Allow []string
	Why   string
}

var rules = []rule{
	{From: "edge", Deny: []string{"storagesvc", "metasvc", "background", "regional"},
		Allow: []string{"regional/regionalclient", "metasvc/metapb"},
		Why:   "the edge only authenticates and proxies; it reaches a region through its gateway, never storage or metadata nodes"},
	{From: "regional", Deny: []string{"edge", "background", "storagesvc", "metasvc"},
		Allow: []string{"storagesvc/storageclient", "storagesvc/storagepb", "metasvc/metaclient", "metasvc/metapb", "metasvc/partition"},
		Why:   "the gateway talks to storage and metadata nodes only through their clients, so every node can be a separate process"},
	{From: "background", Deny: []string{"edge", "regional", "storagesvc", "metasvc"},
		Allow: []string{"storagesvc/storageclient", "storagesvc/storagepb", "metasvc/metaclient", "metasvc/metapb", "metasvc/partition", "regional/objectio", "regional/erasure", "regional/placement", "regional/regionalclient"},
		Why:   "background workers use the same clients as the gateway (and the replicator the edges' link client)"},
	{From: "storagesvc", Deny: []string{"edge", "regional", "background", "bucketsvc", "metasvc"},
		Allow: []string{"metasvc/metapb"},
		Why:   "a storage node knows nothing above it but the record types it registers with"},
	{From: "metasvc", Deny: []string{"edge", "regional", "background", "bucketsvc", "storagesvc"},
		Why: "metadata nodes do not depend on data nodes or gateways"},
	{From: "bucketsvc", Deny: []string{"edge", "regional", "background", "metasvc", "storagesvc"},
		Why: "the catalog is global and stands alone"},
}

// parts are the top-level folders that are deployable parts of the product.
var parts = []string{"edge", "regional", "background", "metasvc", "storagesvc", "bucketsvc"}

// folders must exist: a rule that names a missing folder checks nothing.
var folders = []string{"edge", "regional", "background", "metasvc", "storagesvc", "bucketsvc", "internal", "testbed", "cmd/meridian", "infra/terraform", "loadtest", "docs"}

// wire packages hold no logic and import nothing of the project.
var wirePackages = []string{"metasvc/metapb", "storagesvc/storagepb"}

func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestImportDirection(t *testing.T) {
	for _, f := range folders {
		if st, err := os.Stat(filepath.Join("..", "..", f)); err != nil || !st.IsDir() {
			t.Errorf("folder %s is missing: the layout rules name it", f)
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/meridian-s3/meridian/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	testOut, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "github.com/meridian-s3/meridian/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, testOut)
	}
	checkShared(t, string(out), string(testOut))
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], mod) {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(imp, mod)
			for _, w := range wirePackages {
				if under(pkg, w) {
					t.Errorf("%s imports %s: wire packages import nothing of the project", pkg, dep)
				}
			}
			for _, r := range rules {
				if !under(pkg, r.From) {
					continue
				}
				checked++
				for _, d := range r.Deny {
					if !under(dep, d) || under(dep, r.From) {
						continue
					}
					allowed := false
					for _, a := range r.Allow {
						if under(dep, a) {
							allowed = true
						}
					}
					if !allowed {
						t.Errorf("%s imports %s: %s", pkg, dep, r.Why)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no imports were checked: the package list is wrong")
	}
	// Nothing but the binary and the dev wiring imports edge or background.
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], mod)
		if under(pkg, "cmd") || under(pkg, "testbed/devcluster") || under(pkg, "edge") || under(pkg, "background") || strings.HasSuffix(pkg, "_test") || strings.Contains(pkg, "e2e") {
			continue
		}
		for _, imp := range fields[1:] {
			dep := strings.TrimPrefix(imp, mod)
			if under(dep, "edge") || under(dep, "background") {
				t.Errorf("%s imports %s: nothing imports edge or background", pkg, dep)
			}
		}
	}
}

// checkShared states the one rule for internal/: its packages are shared
// protocol libraries, so neither they nor their tests import a part, and
// their code imports nothing outside internal/ (tests may use testbed/'s
// helpers). And testbed/ — dev and test harnesses — is imported only by
// the binary, by testbed/ itself and by tests, never by a part's code.
func checkShared(t *testing.T, code, tests string) {
	t.Helper()
	internalPkgs := 0
	each := func(list string, f func(pkg, dep string)) {
		for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || !strings.HasPrefix(fields[0], mod) {
				continue
			}
			pkg := strings.TrimPrefix(fields[0], mod)
			for _, imp := range fields[1:] {
				if strings.HasPrefix(imp, mod) {
					f(pkg, strings.TrimPrefix(imp, mod))
				}
			}
		}
	}
	for _, line := range strings.Split(code, "\n") {
		if f := strings.Fields(line); len(f) > 0 && under(strings.TrimPrefix(f[0], mod), "internal") {
			internalPkgs++
		}
	}
	if internalPkgs < 5 {
		t.Fatalf("only %d packages under internal/: the package list is wrong", internalPkgs)
	}
	partOf := func(dep string) string {
		for _, p := range parts {
			if under(dep, p) {
				return p
			}
		}
		return ""
	}
	each(code, func(pkg, dep string) {
		if under(pkg, "internal") && !under(dep, "internal") {
			t.Errorf("%s imports %s: internal/ holds shared libraries that import nothing outside internal/", pkg, dep)
		}
		if under(dep, "testbed") && !under(pkg, "testbed") && !under(pkg, "cmd") && !testHelper(pkg) {
			t.Errorf("%s imports %s: testbed/ is for the binary's dev roles and for tests, never a part's code", pkg, dep)
		}
	})
	each(tests, func(pkg, dep string) {
		if under(pkg, "internal") && partOf(dep) != "" {
			t.Errorf("a test of %s imports %s: internal/ is tested without any part", pkg, dep)
		}
	})
}

// testHelper: a part's package of test fakes and servers (metasvctest,
// objectiotest) is test code under another name.
func testHelper(pkg string) bool { return strings.HasSuffix(filepath.Base(pkg), "test") }

func TestRuleMatching(t *testing.T) {
	tests := []struct {
		pkg, prefix string
		want        bool
	}{
		{"regional", "regional", true},
		{"regional/objectio", "regional", true},
		{"regionalx", "regional", false},
		{"metasvc/metaclient", "metasvc", true},
	}
	for _, tc := range tests {
		if got := under(tc.pkg, tc.prefix); got != tc.want {
			t.Errorf("under(%q,%q)=%v", tc.pkg, tc.prefix, got)
		}
	}
}
