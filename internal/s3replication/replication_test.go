package s3replication

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func doc(rules ...string) string {
	return `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Role>arn:aws:iam::1:role/r</Role>` + strings.Join(rules, "") + `</ReplicationConfiguration>`
}

const dst = `<Destination><Bucket>arn:aws:s3:::dst</Bucket></Destination>`
const (
	kmsARN = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0b0a-4908-8706-050403020100"
	kmsOn  = `<SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>`
	kmsDst = `<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration><ReplicaKmsKeyID>` + kmsARN + `</ReplicaKmsKeyID></EncryptionConfiguration></Destination>`
)

const dmOn = `<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>`

func code(err error) string {
	var e *s3err.Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"v2 prefix", doc(`<Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>` + dmOn + dst + `</Rule>`), ""},
		{"v2 empty filter", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter></Filter>` + dmOn + dst + `</Rule>`), ""},
		{"v2 and", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>` + dmOn + dst + `</Rule>`), ""},
		{"v1 prefix", doc(`<Rule><ID>a</ID><Status>Enabled</Status><Prefix></Prefix>` + dst + `</Rule>`), ""},
		{"two v2 rules", doc(`<Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`, `<Rule><ID>b</ID><Priority>2</Priority><Status>Disabled</Status><Filter><Prefix>x</Prefix></Filter>`+dmOn+dst+`</Rule>`), ""},
		{"no role", `<ReplicationConfiguration><Rule><Status>Enabled</Status><Prefix></Prefix>` + dst + `</Rule></ReplicationConfiguration>`, "MalformedXML"},
		{"no rules", doc(), "MalformedXML"},
		{"unknown element", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix><Bogus/>` + dst + `</Rule>`), "MalformedXML"},
		{"bad status", doc(`<Rule><Status>On</Status><Prefix></Prefix>` + dst + `</Rule>`), "MalformedXML"},
		{"no destination", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix></Rule>`), "MalformedXML"},
		{"prefix and filter", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Prefix>a</Prefix><Filter/>` + dmOn + dst + `</Rule>`), "MalformedXML"},
		{"filter with two conditions", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>` + dmOn + dst + `</Rule>`), "MalformedXML"},
		{"v2 without priority", doc(`<Rule><Status>Enabled</Status><Filter/>` + dmOn + dst + `</Rule>`), "InvalidRequest"},
		{"v2 without delete marker replication", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + dst + `</Rule>`), "InvalidRequest"},
		{"duplicate ids", doc(`<Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`, `<Rule><ID>a</ID><Priority>2</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`), "InvalidArgument"},
		{"duplicate priorities", doc(`<Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`, `<Rule><ID>b</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`), "InvalidRequest"},
		{"mixed schemas", doc(`<Rule><ID>a</ID><Status>Enabled</Status><Prefix></Prefix>`+dst+`</Rule>`, `<Rule><ID>b</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`), "InvalidRequest"},
		{"long id", doc(`<Rule><ID>` + strings.Repeat("x", 256) + `</ID><Status>Enabled</Status><Prefix></Prefix>` + dst + `</Rule>`), "InvalidArgument"},
		{"bad arn", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix><Destination><Bucket>dst</Bucket></Destination></Rule>`), "InvalidArgument"},
		{"glacier destination", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix><Destination><Bucket>arn:aws:s3:::dst</Bucket><StorageClass>GLACIER</StorageClass></Destination></Rule>`), "InvalidStorageClass"},
		{"unknown storage class", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix><Destination><Bucket>arn:aws:s3:::dst</Bucket><StorageClass>COLD</StorageClass></Destination></Rule>`), "MalformedXML"},
		{"replication time", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + dmOn + `<Destination><Bucket>arn:aws:s3:::dst</Bucket><ReplicationTime><Status>Enabled</Status></ReplicationTime></Destination></Rule>`), "NotImplemented"},
		{"trailing garbage", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix>`+dst+`</Rule>`) + "<x/>", "MalformedXML"},
		{"sse-kms selected with a replica key", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + kmsDst + `</Rule>`), ""},
		{"sse-kms disabled with a replica key", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Disabled</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>` + dmOn + kmsDst + `</Rule>`), ""},
		{"replica modifications disabled", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria><ReplicaModifications><Status>Disabled</Status></ReplicaModifications></SourceSelectionCriteria>` + dmOn + dst + `</Rule>`), ""},
		{"v1 with sse-kms", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix>` + kmsOn + kmsDst + `</Rule>`), ""},
		{"sse-kms without a replica key", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + dst + `</Rule>`), "InvalidRequest"},
		{"sse-kms with an empty replica key", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + `<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration><ReplicaKmsKeyID></ReplicaKmsKeyID></EncryptionConfiguration></Destination></Rule>`), "InvalidRequest"},
		{"replica key without sse-kms", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + dmOn + kmsDst + `</Rule>`), "InvalidRequest"},
		{"replica key not an arn", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + `<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration><ReplicaKmsKeyID>alias/app</ReplicaKmsKeyID></EncryptionConfiguration></Destination></Rule>`), "InvalidArgument"},
		{"replica key an s3 arn", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + `<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration><ReplicaKmsKeyID>arn:aws:s3:eu-west-1:123456789012:key/x</ReplicaKmsKeyID></EncryptionConfiguration></Destination></Rule>`), "InvalidArgument"},
		{"empty source selection", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria></SourceSelectionCriteria>` + dmOn + dst + `</Rule>`), "InvalidRequest"},
		{"bad sse-kms status", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Yes</Status></SseKmsEncryptedObjects></SourceSelectionCriteria>` + dmOn + kmsDst + `</Rule>`), "MalformedXML"},
		{"unknown in source selection", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria><Bogus/></SourceSelectionCriteria>` + dmOn + dst + `</Rule>`), "MalformedXML"},
		{"unknown in encryption configuration", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/>` + kmsOn + dmOn + `<Destination><Bucket>arn:aws:s3:::dst</Bucket><EncryptionConfiguration><ReplicaKmsKeyID>` + kmsARN + `</ReplicaKmsKeyID><X/></EncryptionConfiguration></Destination></Rule>`), "MalformedXML"},
		{"replica modifications enabled", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter/><SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>` + dmOn + dst + `</Rule>`), "NotImplemented"},
		{"replica modifications in v1", doc(`<Rule><Status>Enabled</Status><Prefix></Prefix><SourceSelectionCriteria><ReplicaModifications><Status>Disabled</Status></ReplicaModifications></SourceSelectionCriteria>` + dst + `</Rule>`), "InvalidRequest"},
		{"duplicate tag keys", doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter>` + dmOn + dst + `</Rule>`), "InvalidRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body))
			if got := code(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestRoundTripAndRuleFor(t *testing.T) {
	body := doc(`<Rule><ID>logs</ID><Priority>5</Priority><Status>Enabled</Status><Filter><Prefix>logs/</Prefix></Filter>`+`<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>`+dst+`</Rule>`,
		`<Rule><ID>all</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>`+dmOn+`<Destination><Bucket>arn:aws:s3:::other</Bucket><StorageClass>STANDARD</StorageClass></Destination><ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication></Rule>`,
		`<Rule><ID>off</ID><Priority>9</Priority><Status>Disabled</Status><Filter/>`+dmOn+dst+`</Rule>`)
	c, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := c.RuleFor("logs/x", nil); !ok || r.ID != "logs" || r.DeleteMarkers {
		t.Fatalf("logs/x → %+v %v", r, ok)
	}
	if r, ok := c.RuleFor("data/x", nil); !ok || r.ID != "all" || !r.Existing || r.Destination.Bucket != "other" {
		t.Fatalf("data/x → %+v %v", r, ok)
	}
	out, err := xml.Marshal(Render(c))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("rendered document does not parse: %v\n%s", err, out)
	}
	if len(again.Rules) != 3 || again.Rules[0].ID != "logs" || again.Rules[1].Destination.StorageClass != "STANDARD" || again.Rules[2].Enabled {
		t.Fatalf("round trip: %+v", again)
	}
	var none *Configuration
	if _, ok := none.RuleFor("x", nil); ok {
		t.Fatal("nil configuration matched")
	}
	// A tag condition selects nothing on an untagged object.
	c2, _ := Parse([]byte(doc(`<Rule><Priority>1</Priority><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>` + dmOn + dst + `</Rule>`)))
	if _, ok := c2.RuleFor("a", nil); ok {
		t.Fatal("tag rule matched an untagged object")
	}
	if _, ok := c2.RuleFor("a", map[string]string{"k": "v"}); !ok {
		t.Fatal("tag rule missed a tagged object")
	}
}

func TestValidate(t *testing.T) {
	c, err := Parse([]byte(doc(`<Rule><Status>Enabled</Status><Prefix></Prefix>` + dst + `</Rule>`)))
	if err != nil {
		t.Fatal(err)
	}
	buckets := map[string]BucketInfo{"dst": {Exists: true, Versioning: "Enabled"}, "plain": {Exists: true}}
	lookup := func(b string) (BucketInfo, error) { return buckets[b], nil }
	for _, tc := range []struct {
		name, source, versioning, dest, want string
	}{
		{"ok", "src", "Enabled", "dst", ""},
		{"source unversioned", "src", "", "dst", "Versioning must be 'Enabled'"},
		{"source suspended", "src", "Suspended", "dst", "Versioning must be 'Enabled'"},
		{"destination missing", "src", "Enabled", "nope", "must exist"},
		{"destination unversioned", "src", "Enabled", "plain", "versioning enabled"},
		{"destination is the source", "dst", "Enabled", "dst", "same as the source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.Rules[0].Destination.Bucket = tc.dest
			err := Validate(c, tc.source, tc.versioning, lookup)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if code(err) != "InvalidRequest" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want InvalidRequest %q", err, tc.want)
			}
		})
	}
}

// TestSSEKMSSelection: SSE-KMS objects are replicated only by rules whose
// SourceSelectionCriteria enable them (a lower-priority rule that does
// takes them), others by any matching rule; the fields round-trip through
// the GET document.
func TestSSEKMSSelection(t *testing.T) {
	c, err := Parse([]byte(doc(
		`<Rule><ID>plain</ID><Priority>9</Priority><Status>Enabled</Status><Filter/>`+dmOn+dst+`</Rule>`,
		`<Rule><ID>kms</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>k/</Prefix></Filter><SourceSelectionCriteria><SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects><ReplicaModifications><Status>Disabled</Status></ReplicaModifications></SourceSelectionCriteria>`+dmOn+kmsDst+`</Rule>`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		kms  bool
		want string
	}{
		{"k/a", false, "plain"}, {"k/a", true, "kms"}, {"x", false, "plain"}, {"x", true, ""},
	} {
		r, ok := c.RuleForObject(tc.key, nil, tc.kms)
		if (tc.want == "") == ok || (ok && r.ID != tc.want) {
			t.Errorf("%s kms=%v → %q %v, want %q", tc.key, tc.kms, r.ID, ok, tc.want)
		}
	}
	out, err := xml.Marshal(Render(c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<SseKmsEncryptedObjects><Status>Enabled</Status></SseKmsEncryptedObjects>", "<ReplicaModifications><Status>Disabled</Status></ReplicaModifications>",
		"<EncryptionConfiguration><ReplicaKmsKeyID>" + kmsARN + "</ReplicaKmsKeyID></EncryptionConfiguration>"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("GET document lacks %s:\n%s", want, out)
		}
	}
	again, err := Parse(out)
	if err != nil || again.Rules[1].SSEKMS != "Enabled" || again.Rules[1].ReplicaModifications != "Disabled" || again.Rules[1].Destination.ReplicaKMSKeyID != kmsARN {
		t.Fatalf("round trip: %v %+v", err, again)
	}
	// Configurations stored before these fields keep their resync token.
	plain, _ := Parse([]byte(doc(`<Rule><ID>a</ID><Priority>1</Priority><Status>Enabled</Status><Filter/>` + dmOn + dst + `<ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication></Rule>`)))
	if b, _ := json.Marshal(plain.Rules); strings.Contains(string(b), "sse_kms") || strings.Contains(string(b), "replica_") {
		t.Fatalf("unset fields are stored: %s", b)
	}
}
