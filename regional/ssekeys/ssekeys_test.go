package ssekeys

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/bucketsvc/embedded"
	"github.com/meridian-s3/meridian/internal/sse"
)

func TestRotationKeepsOldObjectsReadable(t *testing.T) {
	ctx := context.Background()
	cfg := embedded.DefaultConfig()
	cfg.EncryptionKey = make([]byte, 32)
	path := filepath.Join(t.TempDir(), "c.db")
	store, err := embedded.Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := time.Unix(1_800_000_000, 0)
	r := New(store, "us-east-1")
	r.now = func() time.Time { return clock }
	k1, s1, v1, err := r.NewDataKey(ctx)
	if err != nil || v1 != "1" {
		t.Fatalf("first key: %v %q", err, v1)
	}
	if v, err := Rotate(ctx, store, "us-east-1"); err != nil || v != "2" {
		t.Fatalf("rotate: %v %q", err, v)
	}
	// Another gateway's ring sees version 2 at once; this one after Refresh.
	if _, _, v, _ := New(store, "us-east-1").NewDataKey(ctx); v != "2" {
		t.Fatalf("fresh ring seals with %q", v)
	}
	if _, _, v, _ := r.NewDataKey(ctx); v != "1" {
		t.Fatalf("before refresh: %q", v)
	}
	clock = clock.Add(Refresh + time.Second)
	k2, s2, v2, err := r.NewDataKey(ctx)
	if err != nil || v2 != "2" {
		t.Fatalf("after refresh: %v %q", err, v2)
	}
	// Both open, in a ring that never saw them sealed.
	other := New(store, "us-east-1")
	for _, c := range []struct {
		key, sealed []byte
		v           string
	}{{k1, s1, v1}, {k2, s2, v2}} {
		got, err := other.OpenDataKey(ctx, c.v, c.sealed)
		if err != nil || !bytes.Equal(got, c.key) {
			t.Fatalf("open v%s: %v", c.v, err)
		}
	}
	// Another region's ring cannot open them; an unknown version fails.
	if _, err := New(store, "eu-west-1").OpenDataKey(ctx, v1, s1); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("other region: %v", err)
	}
	if _, err := other.OpenDataKey(ctx, "1", s2); !errors.Is(err, sse.ErrUnwrap) {
		t.Fatalf("sealed by v2 opened as v1: %v", err)
	}
	// The master key is stored sealed: its bytes are not in the catalog file.
	keys, _ := store.ListServerKeys(ctx, bucketsvc.SSES3Scope("us-east-1"))
	if len(keys) != 2 {
		t.Fatalf("%d versions", len(keys))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if bytes.Contains(raw, k.Material) {
			t.Fatalf("master key version %s is in the catalog file in clear", k.ID)
		}
	}
}
