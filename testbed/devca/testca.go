package devca

import (
	"testing"

	"github.com/meridian-s3/meridian/internal/mtls"
)

// TestCA creates a throwaway CA in t.TempDir() for a test.
func TestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := EnsureCA(t.TempDir())
	if err != nil {
		t.Fatalf("devca: %v", err)
	}
	return ca
}

// TestNode issues a node certificate from ca for a test.
func TestNode(t testing.TB, ca *CA, role mtls.Role, id, region, az string) *mtls.Node {
	t.Helper()
	n, err := ca.Node(mtls.Identity{Role: role, ID: id, Region: region, AZ: az})
	if err != nil {
		t.Fatalf("devca: node %s/%s: %v", role, id, err)
	}
	return n
}
