package s3api

import (
	"testing"
	"unicode/utf8"
)

// FuzzTagging: a Put…Tagging body and the x-amz-tagging header. No input
// panics; every rejection is an S3 error; every accepted tag set obeys the
// rules (count, lengths in characters, no aws: prefix, a non-empty key).
func FuzzTagging(f *testing.F) {
	for _, s := range append(xmlSeeds,
		`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`,
		`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`,
		`<Tagging><TagSet><Tag><Key>aws:x</Key><Value></Value></Tag></TagSet></Tagging>`,
		`<Tagging><TagSet/></Tagging>`,
		`<Tagging/>`) {
		f.Add([]byte(s), "a=1&b=2")
	}
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>ü</Key><Value>é</Value></Tag></TagSet></Tagging>`), "a&b=%zz")
	check := func(t *testing.T, tags map[string]string, max int) {
		if len(tags) > max {
			t.Fatalf("accepted %d tags", len(tags))
		}
		for k, v := range tags {
			if k == "" || utf8.RuneCountInString(k) > MaxTagKeyLen || utf8.RuneCountInString(v) > MaxTagValueLen || !validTagText(k) || !validTagText(v) ||
				(len(k) >= 4 && (k[:4] == "aws:" || k[:4] == "AWS:")) {
				t.Fatalf("accepted tag %q=%q", k, v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		for _, kind := range []TagKind{ObjectTags, BucketTags} {
			max := MaxObjectTags
			if kind == BucketTags {
				max = MaxBucketTags
			}
			fuzzXML(t, body, func(b []byte) error {
				tags, err := ParseTagging(b, kind)
				if err == nil {
					check(t, tags, max)
				}
				return err
			})
		}
		tags, err := ParseTaggingHeader(header)
		if err != nil && !isS3Error(err) {
			t.Fatalf("non-S3 error %v for header %q", err, header)
		}
		if err == nil {
			check(t, tags, MaxObjectTags)
		}
	})
}
