package s3authz

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePolicyErrors(t *testing.T) {
	const b = "photos"
	stmt := func(s string) string { return `{"Version":"2012-10-17","Statement":[` + s + `]}` }
	cases := []struct {
		name, doc, msg string
	}{
		{"not an object", `[1]`, "Policies must be valid JSON and the first byte must be '{'"},
		{"empty", ``, "Policies must be valid JSON and the first byte must be '{'"},
		{"bad json", `{"Version":`, "This policy contains invalid Json"},
		{"trailing", `{"Statement":[]} x`, "This policy contains invalid Json"},
		{"no statement", `{"Version":"2012-10-17"}`, "Missing required field Statement"},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "Policy has an invalid version"},
		{"unknown top field", `{"Versio":"2012-10-17","Statement":[]}`, "Unknown field Versio"},
		{"no effect", stmt(`{"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Missing required field Effect"},
		{"bad effect", stmt(`{"Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Invalid effect: Permit"},
		{"no principal", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Missing required field Principal"},
		{"bad principal", stmt(`{"Effect":"Allow","Principal":"bob","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Invalid principal in policy"},
		{"bad principal arn", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::x:group/g"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Invalid principal in policy"},
		{"no action", stmt(`{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::photos/*"}`), "Missing required field Action"},
		{"bad action", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:FlyAway","Resource":"arn:aws:s3:::photos/*"}`), "Policy has invalid action"},
		{"other service", stmt(`{"Effect":"Allow","Principal":"*","Action":"ec2:RunInstances","Resource":"arn:aws:s3:::photos/*"}`), "Policy has invalid action"},
		{"no resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}`), "Missing required field Resource"},
		{"star resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}`), "Policy has invalid resource"},
		{"other bucket", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::videos/*"}`), "Policy has invalid resource"},
		{"mismatch", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::photos"}`), "Action does not apply to any resource(s) in statement"},
		{"mismatch bucket action", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::photos/*"}`), "Action does not apply to any resource(s) in statement"},
		{"bad condition op", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringSorta":{"aws:Referer":"x"}}}`), "Invalid Condition type : StringSorta"},
		{"bad condition key", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringEquals":{"s3:flavour":"x"}}}`), "Policy has an invalid condition key"},
		{"bad cidr", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}`), "Invalid Condition value for aws:sourceip"},
		{"dup sid", stmt(`{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"},{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}`), "Statement IDs (SID) in a single policy must be unique"},
		{"unknown stmt field", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Foo":1}`), "Unknown field Foo"},
		{"too large", `{"Statement":[],"Id":"` + strings.Repeat("x", MaxPolicySize) + `"}`, ErrPolicyTooLarge.Msg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(c.doc), b)
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want PolicyError %q", err, c.msg)
			}
			if pe.Msg != c.msg {
				t.Fatalf("msg = %q, want %q", pe.Msg, c.msg)
			}
		})
	}
}

func TestParsePolicyAccepts(t *testing.T) {
	docs := []string{
		// A single statement object, wildcards, NotPrincipal, a user ARN.
		`{"Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::acct-a:user/alice"},"Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}}`,
		`{"Version":"2008-10-17","Id":"x","Statement":[{"Effect":"Allow","Principal":{"AWS":["acct-b","arn:aws:iam::acct-c:root"]},"Action":["s3:Get*","s3:List?ucket"],"Resource":["arn:aws:s3:::photos/*","arn:aws:s3:::photos"]}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"s3:DeleteObject","NotResource":"arn:aws:s3:::photos/secret/*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"acct-b"},"Action":"*","Resource":"arn:aws:s3:::pho*"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"ForAnyValue:StringLikeIfExists":{"s3:RequestObjectTagKeys":["a*"]},"Null":{"s3:ExistingObjectTag/Team":"false"},"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]},"ArnLike":{"aws:SourceArn":"arn:aws:*"}}}]}`,
	}
	for i, d := range docs {
		p, err := ParsePolicy([]byte(d), "photos")
		if err != nil {
			t.Errorf("doc %d: %v", i, err)
			continue
		}
		if i == 4 && !p.NeedsObject() {
			t.Errorf("doc %d: NeedsObject false with s3:ExistingObjectTag", i)
		}
	}
}

func TestWildMatch(t *testing.T) {
	cases := []struct {
		p, s string
		fold bool
		want bool
	}{
		{"*", "", false, true},
		{"a*", "abc", false, true},
		{"a?c", "abc", false, true},
		{"a?c", "ac", false, false},
		{"*b*", "aaabaaa", false, true},
		{"photos/public/*", "photos/public/x/y", false, true},
		{"photos/public/*", "photos/private/x", false, false},
		{"s3:get*", "s3:GetObject", true, true},
		{"s3:get*", "s3:GetObject", false, false},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
		{"**", "x", false, true},
	}
	for _, c := range cases {
		if got := wildMatch(c.p, c.s, c.fold); got != c.want {
			t.Errorf("wildMatch(%q,%q,%v) = %v", c.p, c.s, c.fold, got)
		}
	}
}
