package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestPrivateServer starts a private server (no TestMain here), writes and
// reads data, and checks Stop really stops it.
func TestPrivateServer(t *testing.T) {
	ctx := context.Background()
	s, err := StartServer(t.TempDir())
	if errors.Is(err, ErrNoPostgres) {
		reportMissing(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	dsn, err := s.CreateDatabase(ctx, dbName(t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "PostgreSQL") {
		t.Fatalf("version() = %q", version)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != 42 {
		t.Fatalf("read back %d, %v", v, err)
	}
	var fsync string
	conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync)
	if fsync != "off" {
		t.Errorf("fsync = %q, want off", fsync)
	}
	conn.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, dsn); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}
	if _, err := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid still present: %v", err)
	}
}

// TestStartGivesFreshDatabases: two Starts in one test give two distinct,
// empty databases.
func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("same DSN twice: %s", a)
	}
	for _, dsn := range []string{a, b} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("fresh database has %d tables (%v)", n, err)
		}
		conn.Exec(ctx, "CREATE TABLE only_here (v int)")
		conn.Close(ctx)
	}
}

func TestDBName(t *testing.T) {
	tests := []struct{ in, prefix string }{
		{"TestFoo", "t_testfoo_"},
		{"TestContract/Accounts", "t_testcontract_accounts_"},
		{"Weird Name!!/x", "t_weird_name_x_"},
	}
	for _, tt := range tests {
		got := dbName(tt.in)
		if !strings.HasPrefix(got, tt.prefix) || len(got) > 63 {
			t.Errorf("dbName(%q) = %q, want prefix %q and ≤63 chars", tt.in, got, tt.prefix)
		}
	}
	if a, b := dbName("x"), dbName("x"); a == b {
		t.Error("dbName is not unique")
	}
}

// recordingTB records Skipf/Fatalf instead of stopping the test.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()                      {}
func (r *recordingTB) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recordingTB) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

// TestMissingBinariesFailUnlessAllowed: CI must not pass by skipping.
func TestMissingBinariesFailUnlessAllowed(t *testing.T) {
	tests := []struct {
		env      string
		wantSkip bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
	}
	for _, tt := range tests {
		t.Setenv(EnvAllowMissing, tt.env)
		r := &recordingTB{TB: t}
		reportMissing(r, ErrNoPostgres)
		if tt.wantSkip && (r.skipped == "" || r.failed != "") {
			t.Errorf("env %q: skipped %q failed %q; want a skip", tt.env, r.skipped, r.failed)
		}
		if !tt.wantSkip && (r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "scripts/install-postgres.sh")) {
			t.Errorf("env %q: skipped %q failed %q; want a failure naming the install script", tt.env, r.skipped, r.failed)
		}
	}
}

func TestFindBinaries(t *testing.T) {
	dir, err := FindBinaries()
	if errors.Is(err, ErrNoPostgres) {
		reportMissing(t, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
