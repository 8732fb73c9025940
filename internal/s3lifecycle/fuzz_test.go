package s3lifecycle

import (
	"encoding/xml"
	"errors"
	"reflect"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// FuzzParse: no input panics; every rejection is an S3 error; an accepted
// configuration has 1..1000 rules with unique IDs of at most 255
// characters, and its GET document parses back to the same configuration.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		doc(rule("<ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>" + exp1)),
		doc(rule("<Prefix>x</Prefix><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>")),
		doc(rule("<Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>" +
			"<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>")),
		doc(rule("<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>" +
			"<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")),
		doc(rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>")),
		"<LifecycleConfiguration/>", "", "<",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cfg, err := Parse(body)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("non-S3 error %v for %q", err, body)
			}
			return
		}
		if len(cfg.Rules) == 0 || len(cfg.Rules) > MaxRules {
			t.Fatalf("accepted %d rules", len(cfg.Rules))
		}
		ids := map[string]bool{}
		for _, r := range cfg.Rules {
			if r.ID == "" || len([]rune(r.ID)) > MaxIDLength || ids[r.ID] {
				t.Fatalf("accepted rule ID %q (duplicate %v)", r.ID, ids[r.ID])
			}
			ids[r.ID] = true
		}
		out, err := xml.Marshal(Render(cfg))
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("rendered document refused: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalize(cfg), normalize(again)) {
			t.Fatalf("round trip changed the configuration:\n%+v\n%+v\n%s", cfg, again, out)
		}
	})
}

// normalize makes an absent tag list and an empty one equal.
func normalize(c *Configuration) *Configuration {
	out := &Configuration{}
	for _, r := range c.Rules {
		if r.Filter.Tags == nil {
			r.Filter.Tags = []Tag{}
		}
		out.Rules = append(out.Rules, r)
	}
	return out
}
