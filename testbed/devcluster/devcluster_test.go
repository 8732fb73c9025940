package devcluster

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/meridian-s3/meridian/bucketsvc/embedded"
)

// The dev secret is created once: only that start reports Created (and so
// prints it); later starts read it back from the 0600 file.
func TestEnsureCredentialsCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := embedded.DefaultConfig()
	cfg.EncryptionKey = make([]byte, 32)
	cat, err := embedded.Open(filepath.Join(dir, "catalog.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	path := filepath.Join(dir, "credentials.json")
	first, err := EnsureCredentials(context.Background(), cat, path)
	if err != nil || !first.Created || first.SecretKey == "" {
		t.Fatalf("first start: %+v %v", first, err)
	}
	again, err := EnsureCredentials(context.Background(), cat, path)
	if err != nil || again.Created || again.SecretKey != first.SecretKey || again.AccessKey != first.AccessKey {
		t.Fatalf("second start: %+v %v", again, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v %v", st.Mode(), err)
	}
}
