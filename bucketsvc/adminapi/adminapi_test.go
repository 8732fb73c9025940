package adminapi_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/adminapi"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/testbed/devca"
)

type fixture struct {
	store bucketsvc.Store
	ca    *devca.CA
	addr  string
}

func start(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := embedded.DefaultConfig()
	cfg.EncryptionKey = bytes.Repeat([]byte{7}, 32)
	store, err := embedded.Open(filepath.Join(dir, "catalog.db"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ca, err := devca.EnsureCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := ca.Node(mtls.Identity{Role: mtls.RoleGateway, ID: "regional", Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := adminapi.Listen("127.0.0.1:0", gw, "r1", store, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &fixture{store: store, ca: ca, addr: s.Addr()}
}

func (f *fixture) client(t *testing.T, id mtls.Identity) *adminapi.Client {
	t.Helper()
	n, err := f.ca.Node(id)
	if err != nil {
		t.Fatal(err)
	}
	return adminapi.NewClient(f.addr, n)
}

var admin = mtls.Identity{Role: mtls.RoleAdmin, ID: "admin", Region: "r1"}

func TestKeysThroughTheAPI(t *testing.T) {
	f := start(t)
	c := f.client(t, admin)
	ctx := context.Background()

	k, err := c.CreateKey(ctx, adminapi.KeyRequest{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.store.LookupAccessKey(ctx, k.AccessKey)
	if err != nil || got.Secret != k.SecretKey || got.AccountID != k.AccountID || got.Status != bucketsvc.KeyActive {
		t.Fatalf("stored key = %+v, %v; answered %+v", got, err, k)
	}
	// A second key for the same account, with a fixed id and secret.
	k2, err := c.CreateKey(ctx, adminapi.KeyRequest{Account: k.AccountID, AccessKey: "AKFIXED0000000000001", SecretKey: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-abcd"})
	if err != nil || k2.AccountID != k.AccountID || k2.AccessKey != "AKFIXED0000000000001" {
		t.Fatalf("fixed key: %+v %v", k2, err)
	}
	if _, err := c.CreateKey(ctx, adminapi.KeyRequest{Account: k.AccountID, AccessKey: "AKFIXED0000000000001", SecretKey: "x-another-secret-x-another-secret-xxxxx"}); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate key id: %v, want 409", err)
	}
	if _, err := c.CreateKey(ctx, adminapi.KeyRequest{Account: "no-such-account"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown account: %v, want 404", err)
	}
	if err := c.RevokeKey(ctx, k.AccessKey); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.store.LookupAccessKey(ctx, k.AccessKey); got.Status == bucketsvc.KeyActive {
		t.Fatalf("revoked key still active: %+v", got)
	}
	if err := c.RevokeKey(ctx, "AKNOSUCHKEY000000000"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("revoke unknown: %v, want 404", err)
	}
	a, err := c.CreateAccount(ctx, "bob")
	if err != nil || a.ID == "" || a.Name != "bob" {
		t.Fatalf("account: %+v %v", a, err)
	}
	if err := f.store.CreateBucket(ctx, bucketsvc.Bucket{Name: "photos", Region: "r1", Owner: a.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bs, err := c.ListBuckets(ctx)
	if err != nil || len(bs) != 1 || bs[0].Name != "photos" || bs[0].Owner != a.ID {
		t.Fatalf("buckets: %+v %v", bs, err)
	}
}

func TestOnlyAdminsOfTheRegion(t *testing.T) {
	f := start(t)
	for _, tc := range []struct {
		name string
		id   mtls.Identity
		want string
	}{
		{"admin of another region", mtls.Identity{Role: mtls.RoleAdmin, ID: "admin", Region: "r2"}, "403"},
		{"gateway of the region", mtls.Identity{Role: mtls.RoleGateway, ID: "regional", Region: "r1"}, "403"},
		{"background of the region", mtls.Identity{Role: mtls.RoleBackground, ID: "bg", Region: "r1"}, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.client(t, tc.id).CreateKey(context.Background(), adminapi.KeyRequest{Name: "mallory"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if bs, _ := f.store.ListBuckets(context.Background(), ""); len(bs) != 0 {
		t.Fatal("refused callers changed the catalog")
	}
	// No client certificate: the handshake itself fails.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Post("https://"+f.addr+"/v1/accounts", "application/json", strings.NewReader(`{"name":"x"}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("no client certificate: status %s, want a refused handshake", resp.Status)
	}
	// A certificate from another CA is refused as well.
	other, err := devca.EnsureCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, err := other.Node(admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminapi.NewClient(f.addr, n).ListBuckets(context.Background()); err == nil {
		t.Fatal("a certificate from another CA was admitted")
	}
}

func TestBadRequests(t *testing.T) {
	f := start(t)
	n, err := f.ca.Node(admin)
	if err != nil {
		t.Fatal(err)
	}
	tc := n.ClientConfig(mtls.RoleGateway)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	for _, c := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"not json", "POST", "/v1/keys", "name=x", 400},
		{"unknown field", "POST", "/v1/keys", `{"name":"x","admin":true}`, 400},
		{"trailing data", "POST", "/v1/accounts", `{"name":"x"} {"name":"y"}`, 400},
		{"no name", "POST", "/v1/accounts", `{}`, 400},
		{"key without secret", "POST", "/v1/keys", `{"name":"x","access_key":"AKONLY"}`, 400},
		{"neither account nor name", "POST", "/v1/keys", `{}`, 400},
		{"too large", "POST", "/v1/accounts", `{"name":"` + strings.Repeat("x", adminapi.MaxBody) + `"}`, 400},
		{"unknown path", "GET", "/v1/secrets", "", 404},
		{"wrong method", "PUT", "/v1/buckets", "", 405},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, "https://"+f.addr+c.path, strings.NewReader(c.body))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
	if a, err := f.store.GetAccount(context.Background(), "x"); err == nil {
		t.Fatalf("a bad request created %+v", a)
	} else if !errors.Is(err, bucketsvc.ErrNoSuchAccount) {
		t.Logf("GetAccount: %v", err)
	}
}

// TestServerKeysThroughTheAPI: SSE-S3 master key rotation and the built-in
// KMS's keys (docs/sse.md); the answers never carry key material.
func TestServerKeysThroughTheAPI(t *testing.T) {
	f := start(t)
	c := f.client(t, admin)
	ctx := context.Background()
	for _, want := range []string{"1", "2"} {
		v, err := c.RotateSSES3Key(ctx, "r1")
		if err != nil || v.Version != want || v.Region != "r1" {
			t.Fatalf("rotate: %+v %v, want version %s", v, err, want)
		}
	}
	keys, err := f.store.(bucketsvc.ServerKeyStore).ListServerKeys(ctx, bucketsvc.SSES3Scope("r1"))
	if err != nil || len(keys) != 2 || bytes.Equal(keys[0].Material, keys[1].Material) {
		t.Fatalf("stored versions: %v %d", err, len(keys))
	}
	a, err := c.CreateAccount(ctx, "kms-owner")
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.CreateKMSKey(ctx, "r1", a.ID, "alias/app")
	if err != nil || k.Alias != "alias/app" || k.ARN != bucketsvc.KMSKeyARN("r1", a.ID, k.KeyID) || len(k.KeyID) != 36 {
		t.Fatalf("create key: %+v %v", k, err)
	}
	if _, err := c.CreateKMSKey(ctx, "r1", a.ID, "alias/app"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("duplicate alias: %v, want 400", err)
	}
	if _, err := c.CreateKMSKey(ctx, "r1", "no-such-account", ""); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown account: %v, want 404", err)
	}
	if _, err := c.CreateKMSKey(ctx, "r1", a.ID, ""); err != nil {
		t.Fatal(err)
	}
	ks, err := c.ListKMSKeys(ctx, "r1", a.ID)
	if err != nil || len(ks) != 2 || ks[0].KeyID != k.KeyID {
		t.Fatalf("list: %+v %v", ks, err)
	}
}
