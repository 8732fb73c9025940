package s3lifecycle

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func doc(rules ...string) string {
	return `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</LifecycleConfiguration>`
}

func rule(inner string) string { return "<Rule>" + inner + "</Rule>" }

const exp1 = "<Expiration><Days>1</Days></Expiration>"

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("x", 256)
	many := make([]string, MaxRules+1)
	for i := range many {
		many[i] = rule("<ID>r" + strings.Repeat("i", i%7) + string(rune('a'+i%26)) + "</ID><Filter/><Status>Enabled</Status>" + exp1)
	}
	tests := []struct {
		name, body string
		code       s3err.Code
		msg        string // substring of the message ("" = the code's default)
	}{
		{"not xml", "<Lifecycle", s3err.MalformedXML, ""},
		{"wrong root", "<Foo/>", s3err.MalformedXML, ""},
		{"no rules", doc(), s3err.MalformedXML, ""},
		{"too many rules", doc(many...), s3err.MalformedXML, ""},
		{"unknown element", doc(rule("<Filter/><Status>Enabled</Status><Bogus/>" + exp1)), s3err.MalformedXML, ""},
		{"unknown root child", doc(rule("<Filter/><Status>Enabled</Status>"+exp1), "<Foo/>"), s3err.MalformedXML, ""},
		{"no status", doc(rule("<Filter/>" + exp1)), s3err.MalformedXML, ""},
		{"bad status", doc(rule("<Filter/><Status>enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"no filter no prefix", doc(rule("<Status>Enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"filter and prefix", doc(rule("<Prefix>a</Prefix><Filter/><Status>Enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"two predicates", doc(rule("<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"two tags outside and", doc(rule("<Filter><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>1</Value></Tag></Filter><Status>Enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"and with one predicate", doc(rule("<Filter><And><Prefix>a</Prefix></And></Filter><Status>Enabled</Status>" + exp1)), s3err.MalformedXML, ""},
		{"id too long", doc(rule("<ID>" + long + "</ID><Filter/><Status>Enabled</Status>" + exp1)), s3err.InvalidArgument, "ID length should not exceed allowed limit of 255"},
		{"duplicate id", doc(rule("<ID>a</ID><Filter/><Status>Enabled</Status>"+exp1), rule("<ID>a</ID><Filter><Prefix>x</Prefix></Filter><Status>Enabled</Status>"+exp1)), s3err.InvalidArgument, "Rule ID must be unique"},
		{"no action", doc(rule("<Filter/><Status>Enabled</Status>")), s3err.InvalidRequest, "At least one action needs to be specified in a rule"},
		{"days zero", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>")), s3err.InvalidArgument, "'Days' for Expiration action must be a positive integer"},
		{"days negative", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Days>-3</Days></Expiration>")), s3err.InvalidArgument, "'Days' for Expiration action must be a positive integer"},
		{"days not a number", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Days>x</Days></Expiration>")), s3err.MalformedXML, ""},
		{"days and date", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>")), s3err.MalformedXML, ""},
		{"empty expiration", doc(rule("<Filter/><Status>Enabled</Status><Expiration></Expiration>")), s3err.MalformedXML, ""},
		{"marker and days", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")), s3err.MalformedXML, ""},
		{"date not midnight", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")), s3err.InvalidArgument, "'Date' must be at midnight GMT"},
		{"date offset not midnight utc", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00+02:00</Date></Expiration>")), s3err.InvalidArgument, "'Date' must be at midnight GMT"},
		{"date garbage", doc(rule("<Filter/><Status>Enabled</Status><Expiration><Date>tomorrow</Date></Expiration>")), s3err.MalformedXML, ""},
		{"abort zero", doc(rule("<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>")), s3err.InvalidArgument, "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer"},
		{"abort without days", doc(rule("<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload></AbortIncompleteMultipartUpload>")), s3err.MalformedXML, ""},
		{"abort with tag", doc(rule("<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>")), s3err.InvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags."},
		{"abort with size", doc(rule("<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>")), s3err.InvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Object Size."},
		{"marker with tag", doc(rule("<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")), s3err.InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Tags."},
		{"noncurrent zero", doc(rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>")), s3err.InvalidArgument, "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"},
		{"noncurrent without days", doc(rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>")), s3err.MalformedXML, ""},
		{"newer noncurrent zero", doc(rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions></NoncurrentVersionExpiration>")), s3err.InvalidArgument, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer"},
		{"newer noncurrent 101", doc(rule("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>")), s3err.InvalidArgument, "less than or equal to 100"},
		{"transition to glacier", doc(rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>")), s3err.InvalidStorageClass, "STANDARD"},
		{"noncurrent transition", doc(rule("<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>")), s3err.InvalidStorageClass, ""},
		{"transition unknown class", doc(rule("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>COLD</StorageClass></Transition>")), s3err.MalformedXML, ""},
		{"size negative", doc(rule("<Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter><Status>Enabled</Status>" + exp1)), s3err.InvalidArgument, "ObjectSizeGreaterThan"},
		{"size range empty", doc(rule("<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>" + exp1)), s3err.InvalidArgument, "must be less than"},
		{"duplicate tag keys", doc(rule("<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status>" + exp1)), s3err.InvalidRequest, "Duplicate Tag Keys are not allowed."},
		{"legacy and v2 mixed", doc(rule("<Prefix>a</Prefix><Status>Enabled</Status>"+exp1), rule("<Filter><Prefix>b</Prefix></Filter><Status>Enabled</Status>"+exp1)), s3err.InvalidRequest, "Base level prefix cannot be used in Lifecycle V2"},
		{"doctype", `<!DOCTYPE x []>` + doc(rule("<Filter/><Status>Enabled</Status>"+exp1)), s3err.MalformedXML, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("accepted: %+v", cfg)
			}
			e := s3err.As(err)
			if e.Code != tt.code {
				t.Fatalf("code %s (%s), want %s", e.Code, e.Message, tt.code)
			}
			if tt.msg != "" && !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("message %q, want it to contain %q", e.Message, tt.msg)
			}
		})
	}
}

func TestParseAndRender(t *testing.T) {
	body := doc(
		rule("<ID>days</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>7</Days></Expiration>"),
		rule("<ID>date</ID><Filter/><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>"),
		rule("<ID>and</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>"+
			"<Expiration><Days>3</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>"),
		rule("<ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"),
		rule("<Filter><Tag><Key>t</Key><Value></Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
		rule("<ID>markers</ID><Filter><ObjectSizeLessThan>100</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"),
	)
	cfg, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 6 {
		t.Fatalf("%d rules", len(cfg.Rules))
	}
	r := cfg.Rules
	if r[0].ID != "days" || !r[0].Enabled || r[0].Filter.Form != FormPrefix || r[0].Filter.Prefix != "logs/" || r[0].Expiration.Days != 7 {
		t.Errorf("rule 0: %+v", r[0])
	}
	if r[1].Enabled || !r[1].Expiration.Date.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || r[1].Filter.Form != FormEmpty {
		t.Errorf("rule 1: %+v", r[1])
	}
	if f := r[2].Filter; f.Form != FormAnd || f.Prefix != "p/" || len(f.Tags) != 1 || *f.SizeGreaterThan != 10 || r[2].Noncurrent.NewerNoncurrentVersions != 2 {
		t.Errorf("rule 2: %+v", r[2])
	}
	if r[3].AbortIncompleteDays != 2 {
		t.Errorf("rule 3: %+v", r[3])
	}
	if r[4].ID == "" || len(r[4].ID) > MaxIDLength {
		t.Errorf("rule 4 generated id %q", r[4].ID)
	}
	out, err := xml.Marshal(Render(cfg))
	if err != nil {
		t.Fatal(err)
	}
	// The rendered document parses back to the same configuration.
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i := range r {
		a, b := r[i], again.Rules[i]
		if a.ID != b.ID || a.Enabled != b.Enabled || a.Filter.Form != b.Filter.Form || a.Filter.Prefix != b.Filter.Prefix || a.AbortIncompleteDays != b.AbortIncompleteDays {
			t.Errorf("rule %d: %+v after round trip %+v", i, a, b)
		}
	}
	for _, want := range []string{"<Date>2030-01-01T00:00:00.000Z</Date>", "<Status>Disabled</Status>", "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>", `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("document lacks %s:\n%s", want, out)
		}
	}
}

func TestParseLegacyPrefix(t *testing.T) {
	cfg, err := Parse([]byte(doc(rule("<ID>old</ID><Prefix>tmp/</Prefix><Status>Enabled</Status>" + exp1))))
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Rules[0].Filter; f.Form != FormLegacyPrefix || f.Prefix != "tmp/" {
		t.Fatalf("%+v", f)
	}
	out, _ := xml.Marshal(Render(cfg))
	if !strings.Contains(string(out), "<Prefix>tmp/</Prefix><Status>") || strings.Contains(string(out), "<Filter>") {
		t.Fatalf("legacy form not kept: %s", out)
	}
}
