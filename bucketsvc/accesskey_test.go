package bucketsvc

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestAccessKeyRedactsSecret(t *testing.T) {
	k := AccessKey{ID: "MKTEST", Secret: "s3cr3t-value-xyz", AccountID: "acct-1", Status: KeyActive}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("key", "k", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("key", "k", k)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", k),
		"%+v":  fmt.Sprintf("%+v", k),
		"%#v":  fmt.Sprintf("%#v", k),
		"%s":   fmt.Sprintf("%s", k),
		"&%v":  fmt.Sprintf("%v", &k),
		"slog": buf.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, k.Secret) {
			t.Errorf("%s leaks the secret: %s", verb, out)
		}
		if !strings.Contains(out, "MKTEST") {
			t.Errorf("%s lost the key id: %s", verb, out)
		}
	}
}

func TestGeneratedIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, sec, acct := NewAccessKeyID(), NewSecretKey(), NewAccountID()
		if len(id) != 20 || strings.ToUpper(id) != id {
			t.Fatalf("access key id %q: want 20 uppercase chars", id)
		}
		if len(sec) != 40 {
			t.Fatalf("secret length %d, want 40", len(sec))
		}
		if !strings.HasPrefix(acct, "acct-") {
			t.Fatalf("account id %q", acct)
		}
		for _, s := range []string{id, sec, acct} {
			if seen[s] {
				t.Fatalf("duplicate %q", s)
			}
			seen[s] = true
		}
	}
}
