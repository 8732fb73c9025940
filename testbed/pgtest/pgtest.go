// Package pgtest starts private PostgreSQL servers for tests.
//
// Start(t) returns the DSN of a fresh, empty database. Within a test binary
// whose TestMain calls Main, all tests share one server (each gets its own
// database); otherwise Start launches a server for the test and stops it in
// t.Cleanup.
//
// A server lives in a temporary directory: initdb with trust
// authentication, a free 127.0.0.1 port, its unix socket inside the
// directory, fsync=off (test data is disposable). PostgreSQL refuses to run
// as root, so under root the binaries run as the "postgres" system user
// (created if missing) through runuser, and the directory is handed to it.
//
// Missing binaries fail the test with a hint to run
// scripts/install-postgres.sh; only MERIDIAN_ALLOW_NO_POSTGRES=1 turns that
// into a skip, so CI cannot pass by silently skipping.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Errors.
var (
	ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; run scripts/install-postgres.sh")
)

const (
	// EnvAllowMissing, set to 1, turns missing binaries into a skip.
	EnvAllowMissing = "MERIDIAN_ALLOW_NO_POSTGRES"
	// envSharedDSN carries the shared server's admin DSN from Main to Start.
	envSharedDSN = "MERIDIAN_PGTEST_SHARED_DSN"
)

// Server is a running private PostgreSQL server.
type Server struct {
	bin     string // directory holding initdb, pg_ctl, postgres
	dir     string // parent of data/, the socket and the log
	runAs   string // "" or the user to run the binaries as
	port    int
	ownsDir bool // Stop removes dir
	stopped bool
}

// AdminDSN is the DSN of the server's "postgres" database as superuser.
func (s *Server) AdminDSN() string { return s.dsn("postgres") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// FindBinaries returns the directory holding working initdb, pg_ctl and
// postgres binaries: the newest /usr/lib/postgresql/*/bin, then the
// directory PATH's pg_ctl resolves to (through symlinks or wrappers).
func FindBinaries() (string, error) {
	var candidates []string
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	candidates = append(candidates, dirs...)
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		ok := true
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			out, err := exec.Command(filepath.Join(dir, name), "--version").CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("PostgreSQL")) {
				ok = false
				break
			}
		}
		if ok {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

var majorRE = regexp.MustCompile(`/postgresql/(\d+)/`)

func majorOf(dir string) int {
	m := majorRE.FindStringSubmatch(dir)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// StartServer initialises and starts a server in dir (created when ""; then
// Stop removes it).
func StartServer(dir string) (*Server, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if dir == "" {
		if s.dir, err = os.MkdirTemp("", "meridian-pgtest-"); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		s.ownsDir = true
	}
	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
		if err := ensureUser(s.runAs); err != nil {
			return err
		}
		if err := handOver(s.dir, s.runAs); err != nil {
			return err
		}
	}
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probe and bind: retry
		port, err := freePort()
		if err != nil {
			return err
		}
		s.port = port
		opts := strings.Join([]string{
			"-p", strconv.Itoa(port),
			"-k", s.dir,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=200",
			"-c", "shared_buffers=32MB",
		}, " ")
		out, err := s.run("pg_ctl", "-D", data, "-l", filepath.Join(s.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			return s.waitReady()
		}
		logTail, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
		lastErr = fmt.Errorf("pgtest: pg_ctl start: %w\n%s\n%s", err, out, logTail)
	}
	return lastErr
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.AdminDSN())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: server not ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server at once (pg_ctl stop -m immediate) and removes its
// directory if StartServer created it. Safe to call twice.
func (s *Server) Stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	var err error
	if _, statErr := os.Stat(filepath.Join(s.dir, "data", "postmaster.pid")); statErr == nil {
		if out, e := s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop"); e != nil {
			err = fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", e, out)
		}
	}
	if s.ownsDir {
		if e := os.RemoveAll(s.dir); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// CreateDatabase creates a fresh database and returns its DSN.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	return createDatabase(ctx, s.AdminDSN(), name)
}

func createDatabase(ctx context.Context, adminDSN, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return "", fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	cfg, err := pgx.ParseConfig(adminDSN)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name), nil
}

func (s *Server) run(name string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, name)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir
	// pg_ctl start leaves the server running after it returns: its output
	// goes to the log file, so nothing here waits on an inherited pipe.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ensureUser(name string) error {
	if _, err := user.Lookup(name); err == nil {
		return nil
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: create system user %s: %w\n%s", name, err, out)
	}
	return nil
}

// handOver gives dir to the user and lets it traverse dir's ancestors up to
// the temp root (t.TempDir and MkdirTemp create 0700 directories).
func handOver(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	root := filepath.Clean(os.TempDir())
	for p := filepath.Dir(filepath.Clean(dir)); strings.HasPrefix(p, root+string(filepath.Separator)); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if err := os.Chmod(p, fi.Mode().Perm()|0o011); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	return nil
}

// Start returns the DSN of a fresh empty database for the test: on the
// binary's shared server when TestMain uses Main, else on a private server
// stopped in t.Cleanup. Without PostgreSQL binaries it fails the test
// (skips it only when MERIDIAN_ALLOW_NO_POSTGRES=1).
func Start(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := dbName(t.Name())
	if admin := os.Getenv(envSharedDSN); admin != "" {
		dsn, err := createDatabase(ctx, admin, name)
		if err != nil {
			t.Fatal(err)
		}
		return dsn
	}
	s, err := StartServer(t.TempDir())
	if errors.Is(err, ErrNoPostgres) {
		reportMissing(t, err)
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	dsn, err := s.CreateDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// reportMissing fails the test for missing binaries, or skips it when
// MERIDIAN_ALLOW_NO_POSTGRES=1.
func reportMissing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv(EnvAllowMissing) == "1" {
		t.Skipf("%v (skipping: %s=1)", err, EnvAllowMissing)
		return
	}
	t.Fatalf("%v (set %s=1 to skip instead)", err, EnvAllowMissing)
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

func dbName(testName string) string {
	base := strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	var b [4]byte
	rand.Read(b[:])
	return "t_" + base + "_" + hex.EncodeToString(b[:])
}

// Main runs a test binary's tests against one shared server: call it from
// TestMain as os.Exit(pgtest.Main(m)). Without binaries the tests run
// anyway and each Start fails or skips as described there.
func Main(m *testing.M) int {
	s, err := StartServer("")
	switch {
	case errors.Is(err, ErrNoPostgres):
		return m.Run()
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv(envSharedDSN, s.AdminDSN())
	code := m.Run()
	os.Unsetenv(envSharedDSN)
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
