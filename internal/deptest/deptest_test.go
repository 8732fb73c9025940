// Package deptest enforces the import direction of docs/design.md: edge →
// regional/bucketsvc clients; regional → metasvc/storagesvc/bucketsvc
// clients; background → clients; nothing imports edge or background.
package deptest

import (
	"os/exec"
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
		Allow: []string{"storagesvc/storageclient", "storagesvc/storagepb", "metasvc/metaclient", "metasvc/metapb", "metasvc/partition", "regional/objectio", "regional/erasure", "regional/placement"},
		Why:   "background workers use the same clients as the gateway"},
	{From: "storagesvc", Deny: []string{"edge", "regional", "background", "bucketsvc", "metasvc"},
		Allow: []string{"metasvc/metapb"},
		Why:   "a storage node knows nothing above it but the record types it registers with"},
	{From: "metasvc", Deny: []string{"edge", "regional", "background", "bucketsvc", "storagesvc"},
		Why: "metadata nodes do not depend on data nodes or gateways"},
	{From: "bucketsvc", Deny: []string{"edge", "regional", "background", "metasvc", "storagesvc"},
		Why: "the catalog is global and stands alone"},
}

func init() {
	// Shared internal packages must not pull in any part.
	for _, p := range []string{"internal/s3api", "internal/s3err", "internal/s3lifecycle", "internal/s3replication", "internal/s3route", "internal/s3checksum", "internal/sigv4", "internal/quorum", "internal/telemetry", "internal/latencyproxy", "internal/mtls", "internal/devca"} {
		rules = append(rules, rule{From: p, Deny: []string{"edge", "regional", "background", "metasvc", "storagesvc", "bucketsvc"},
			Why: "shared protocol and helper packages are used by several parts and must not depend on any"})
	}
}

// wire packages hold no logic and import nothing of the project.
var wirePackages = []string{"metasvc/metapb", "storagesvc/storagepb"}

func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/meridian-s3/meridian/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
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
		if under(pkg, "cmd") || under(pkg, "internal/devcluster") || under(pkg, "edge") || under(pkg, "background") || strings.HasSuffix(pkg, "_test") || strings.Contains(pkg, "e2e") {
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
