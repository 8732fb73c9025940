package s3acl

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func codeOf(err error) s3err.Code {
	var e *s3err.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func cu(id string, p Permission) Grant {
	return Grant{Grantee: Grantee{Type: CanonicalUser, ID: id}, Permission: p}
}
func grp(uri string, p Permission) Grant {
	return Grant{Grantee: Grantee{Type: Group, URI: uri}, Permission: p}
}
func email(addr string, p Permission) Grant {
	return Grant{Grantee: Grantee{Type: ByEmail, Email: addr}, Permission: p}
}

func grantsString(gs []Grant) string { return fmt.Sprint(gs) }

func TestCanned(t *testing.T) {
	const o, bo = "writer", "bucketowner"
	cases := []struct {
		name   string
		target Target
		owner  string
		want   []Grant
	}{
		{CannedPrivate, ForObject, o, []Grant{cu(o, FullControl)}},
		{CannedPublicRead, ForBucket, bo, []Grant{cu(bo, FullControl), grp(AllUsers, Read)}},
		{CannedPublicReadWrite, ForObject, o, []Grant{cu(o, FullControl), grp(AllUsers, Read), grp(AllUsers, Write)}},
		{CannedAuthenticatedRead, ForObject, o, []Grant{cu(o, FullControl), grp(AuthenticatedUsers, Read)}},
		{CannedAWSExecRead, ForObject, o, []Grant{cu(o, FullControl), cu(ExecReadID, Read)}},
		{CannedBucketOwnerRead, ForObject, o, []Grant{cu(o, FullControl), cu(bo, Read)}},
		{CannedBucketOwnerRead, ForBucket, bo, []Grant{cu(bo, FullControl)}},
		{CannedBucketOwnerFullControl, ForObject, o, []Grant{cu(o, FullControl), cu(bo, FullControl)}},
		{CannedBucketOwnerFullControl, ForObject, bo, []Grant{cu(bo, FullControl)}}, // owner is the bucket owner: one grant
		{CannedBucketOwnerFullControl, ForBucket, bo, []Grant{cu(bo, FullControl)}},
		{CannedLogDeliveryWrite, ForBucket, bo, []Grant{cu(bo, FullControl), grp(LogDelivery, Write), grp(LogDelivery, ReadACP)}},
	}
	for _, c := range cases {
		a, err := Canned(c.name, c.owner, bo, c.target)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if a.Owner != c.owner || grantsString(a.Grants) != grantsString(c.want) {
			t.Errorf("%s (target %d): %+v, want %v", c.name, c.target, a, c.want)
		}
	}
	if _, err := Canned("public", o, bo, ForObject); codeOf(err) != s3err.InvalidArgument {
		t.Errorf("unknown canned ACL: %v", err)
	}
	if !Private(bo).OnlyOwner(bo) || Private(o).OnlyOwner(bo) {
		t.Errorf("OnlyOwner wrong for private")
	}
	pub, _ := Canned(CannedPublicRead, bo, bo, ForBucket)
	if pub.OnlyOwner(bo) || !pub.IsPublic() {
		t.Errorf("public-read: OnlyOwner %v IsPublic %v", pub.OnlyOwner(bo), pub.IsPublic())
	}
}

func TestFromHeaders(t *testing.T) {
	const o, bo = "o", "bo"
	cases := []struct {
		name    string
		headers map[string][]string
		ok      bool
		want    []Grant
		code    s3err.Code
	}{
		{"none", nil, false, nil, ""},
		{"canned", map[string][]string{"X-Amz-Acl": {"public-read"}}, true, []Grant{cu(o, FullControl), grp(AllUsers, Read)}, ""},
		{"bad canned", map[string][]string{"X-Amz-Acl": {"everyone"}}, false, nil, s3err.InvalidArgument},
		{"grant read quoted", map[string][]string{"X-Amz-Grant-Read": {`id="acct1"`}}, true, []Grant{cu("acct1", Read)}, ""},
		{"grant list", map[string][]string{"X-Amz-Grant-Read": {`id="a", uri="` + AllUsers + `", emailAddress="x@y.z"`}},
			true, []Grant{cu("a", Read), grp(AllUsers, Read), email("x@y.z", Read)}, ""},
		{"unquoted", map[string][]string{"X-Amz-Grant-Full-Control": {"id=a"}}, true, []Grant{cu("a", FullControl)}, ""},
		{"every header", map[string][]string{
			"X-Amz-Grant-Read": {`id="r"`}, "X-Amz-Grant-Write": {`id="w"`}, "X-Amz-Grant-Read-Acp": {`id="ra"`},
			"X-Amz-Grant-Write-Acp": {`id="wa"`}, "X-Amz-Grant-Full-Control": {`id="f"`}},
			true, []Grant{cu("r", Read), cu("w", Write), cu("ra", ReadACP), cu("wa", WriteACP), cu("f", FullControl)}, ""},
		{"canned and grants", map[string][]string{"X-Amz-Acl": {"private"}, "X-Amz-Grant-Read": {`id="a"`}}, false, nil, s3err.InvalidRequest},
		{"bad type", map[string][]string{"X-Amz-Grant-Read": {`name="a"`}}, false, nil, s3err.InvalidArgument},
		{"no equals", map[string][]string{"X-Amz-Grant-Read": {`a`}}, false, nil, s3err.InvalidArgument},
		{"empty value", map[string][]string{"X-Amz-Grant-Read": {`id=""`}}, false, nil, s3err.InvalidArgument},
		{"unknown group", map[string][]string{"X-Amz-Grant-Read": {`uri="http://example.com/g"`}}, false, nil, s3err.InvalidArgument},
		{"too many", map[string][]string{"X-Amz-Grant-Read": {strings.Repeat(`id="a",`, 100) + `id="a"`}}, false, nil, s3err.MalformedACLError},
	}
	for _, c := range cases {
		h := http.Header(c.headers)
		a, ok, err := FromHeaders(h, o, bo, ForObject)
		if codeOf(err) != c.code || ok != c.ok {
			t.Errorf("%s: ok %v err %v, want ok %v code %q", c.name, ok, err, c.ok, c.code)
			continue
		}
		if ok && grantsString(a.Grants) != grantsString(c.want) {
			t.Errorf("%s: %v, want %v", c.name, a.Grants, c.want)
		}
		if HasACLHeaders(h) != (len(c.headers) > 0) {
			t.Errorf("%s: HasACLHeaders wrong", c.name)
		}
	}
}

const policyHead = `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID></Owner><AccessControlList>`

func TestParsePolicy(t *testing.T) {
	g := func(typ, inner, perm string) string {
		return `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="` + typ + `">` + inner + `</Grantee><Permission>` + perm + `</Permission></Grant>`
	}
	doc := func(grants ...string) string {
		return policyHead + strings.Join(grants, "") + `</AccessControlList></AccessControlPolicy>`
	}
	cases := []struct {
		name string
		body string
		want []Grant
		code s3err.Code
	}{
		{"owner only", doc(g("CanonicalUser", "<ID>o</ID><DisplayName>x</DisplayName>", "FULL_CONTROL")), []Grant{cu("o", FullControl)}, ""},
		{"no grants", doc(), nil, ""},
		{"group and email", doc(g("Group", "<URI>"+AllUsers+"</URI>", "READ"), g("AmazonCustomerByEmail", "<EmailAddress>a@b.c</EmailAddress>", "WRITE_ACP")),
			[]Grant{grp(AllUsers, Read), email("a@b.c", WriteACP)}, ""},
		{"other prefix for xsi", policyHead + `<Grant><Grantee xmlns:x="http://www.w3.org/2001/XMLSchema-instance" x:type="CanonicalUser"><ID>z</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`,
			[]Grant{cu("z", Read)}, ""},
		{"bad permission", doc(g("CanonicalUser", "<ID>o</ID>", "EVERYTHING")), nil, s3err.MalformedACLError},
		{"no type", doc(`<Grant><Grantee><ID>o</ID></Grantee><Permission>READ</Permission></Grant>`), nil, s3err.MalformedACLError},
		{"unknown type", doc(g("Robot", "<ID>o</ID>", "READ")), nil, s3err.MalformedACLError},
		{"user without id", doc(g("CanonicalUser", "<URI>x</URI>", "READ")), nil, s3err.MalformedACLError},
		{"unknown group", doc(g("Group", "<URI>http://acs.amazonaws.com/groups/global/Nobody</URI>", "READ")), nil, s3err.InvalidArgument},
		{"no list", `<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>`, nil, s3err.MalformedACLError},
		{"not xml", `hello`, nil, s3err.MalformedACLError},
		{"wrong root", `<Tagging/>`, nil, s3err.MalformedACLError},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]>` + doc(), nil, s3err.MalformedACLError},
		{"101 grants", doc(strings.Split(strings.Repeat(g("CanonicalUser", "<ID>o</ID>", "READ")+"|", 101), "|")...), nil, s3err.MalformedACLError},
	}
	for _, c := range cases {
		a, err := ParsePolicy([]byte(c.body))
		if codeOf(err) != c.code {
			t.Errorf("%s: err %v, want %q", c.name, err, c.code)
			continue
		}
		if err == nil && (a.Owner != "o" || grantsString(a.Grants) != grantsString(c.want)) {
			t.Errorf("%s: %+v, want %v", c.name, a, c.want)
		}
	}
	if _, err := ParsePolicy([]byte(doc(strings.Split(strings.Repeat(g("CanonicalUser", "<ID>o</ID>", "READ")+"|", 100), "|")...))); err != nil {
		t.Errorf("100 grants refused: %v", err)
	}
}

type fakeAccounts map[string]string // id → email

func (f fakeAccounts) AccountExists(id string) (bool, error) {
	if id == "broken" {
		return false, errors.New("catalog down")
	}
	_, ok := f[id]
	return ok, nil
}

func (f fakeAccounts) AccountByEmail(e string) (string, error) {
	for id, m := range f {
		if m != "" && strings.EqualFold(m, e) {
			return id, nil
		}
	}
	return "", nil
}

func TestResolve(t *testing.T) {
	accts := fakeAccounts{"o": "", "b": "b@x.y"}
	cases := []struct {
		name string
		in   []Grant
		want []Grant
		code s3err.Code
	}{
		{"known id and group", []Grant{cu("o", FullControl), grp(AllUsers, Read)}, []Grant{cu("o", FullControl), grp(AllUsers, Read)}, ""},
		{"unknown id", []Grant{cu("nobody", Read)}, nil, s3err.InvalidArgument},
		{"exec read id", []Grant{cu(ExecReadID, Read)}, []Grant{cu(ExecReadID, Read)}, ""},
		{"email mapped", []Grant{email("B@x.y", Read)}, []Grant{cu("b", Read)}, ""},
		{"email unmapped", []Grant{email("o@x.y", Read)}, nil, s3err.UnresolvableGrantByEmailAddress},
		{"resolver error", []Grant{cu("broken", Read)}, nil, "other"},
	}
	for _, c := range cases {
		a, err := Resolve(ACL{Owner: "o", Grants: c.in}, accts)
		if codeOf(err) != c.code {
			t.Errorf("%s: err %v, want %q", c.name, err, c.code)
			continue
		}
		if err == nil && grantsString(a.Grants) != grantsString(c.want) {
			t.Errorf("%s: %v, want %v", c.name, a.Grants, c.want)
		}
	}
}

// TestDocumentRoundTrip: what Document writes, ParsePolicy reads back, with
// the xsi:type S3 writes.
func TestDocumentRoundTrip(t *testing.T) {
	a := ACL{Owner: "o", Grants: []Grant{cu("o", FullControl), grp(AllUsers, Read), cu("p", WriteACP)}}
	out, err := xml.Marshal(a.Document(func(id string) string { return "name-" + id }))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`<Owner><ID>o</ID><DisplayName>name-o</DisplayName></Owner>`,
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>` + AllUsers + `</URI></Grantee><Permission>READ</Permission>`,
		`xsi:type="CanonicalUser"><ID>p</ID><DisplayName>name-p</DisplayName></Grantee><Permission>WRITE_ACP</Permission>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("document lacks %s:\n%s", want, s)
		}
	}
	back, err := ParsePolicy(out)
	if err != nil || back.Owner != "o" || grantsString(back.Grants) != grantsString(a.Grants) {
		t.Errorf("round trip: %+v %v", back, err)
	}
	empty, _ := xml.Marshal(ACL{Owner: "o"}.Document(nil))
	if !strings.Contains(string(empty), "<AccessControlList></AccessControlList>") {
		t.Errorf("empty ACL: %s", empty)
	}
}

func TestOwnership(t *testing.T) {
	const w, bo = "writer", "bucketowner"
	cases := []struct {
		o      Ownership
		canned string
		want   string
	}{
		{BucketOwnerEnforced, "", bo},
		{BucketOwnerEnforced, CannedPublicRead, bo},
		{BucketOwnerPreferred, CannedBucketOwnerFullControl, bo},
		{BucketOwnerPreferred, "", w},
		{ObjectWriter, CannedBucketOwnerFullControl, w},
		{NoOwnershipControls, "", w},
	}
	for _, c := range cases {
		if got := c.o.ObjectOwner(w, bo, c.canned); got != c.want {
			t.Errorf("%q with %q: owner %s, want %s", c.o, c.canned, got, c.want)
		}
	}
	if BucketOwnerEnforced.ACLsEnabled() || !NoOwnershipControls.ACLsEnabled() || NoOwnershipControls.Valid() || Ownership("bucketownerenforced").Valid() {
		t.Errorf("Valid/ACLsEnabled wrong")
	}
}

func TestForCreateBucket(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string][]string
		o       Ownership
		ok      bool
		code    s3err.Code
	}{
		{"default", nil, BucketOwnerEnforced, false, ""},
		{"private under enforced", map[string][]string{"X-Amz-Acl": {"private"}}, BucketOwnerEnforced, true, ""},
		{"full control to owner under enforced", map[string][]string{"X-Amz-Grant-Full-Control": {`id="o"`}}, BucketOwnerEnforced, true, ""},
		{"public under enforced", map[string][]string{"X-Amz-Acl": {"public-read"}}, "", false, s3err.InvalidBucketACLWithObjectOwnership},
		{"grant under enforced", map[string][]string{"X-Amz-Grant-Read": {`id="p"`}}, "", false, s3err.InvalidBucketACLWithObjectOwnership},
		{"public under object writer", map[string][]string{"X-Amz-Acl": {"public-read"}, "X-Amz-Object-Ownership": {"ObjectWriter"}}, ObjectWriter, true, ""},
		{"preferred", map[string][]string{"X-Amz-Object-Ownership": {"BucketOwnerPreferred"}}, BucketOwnerPreferred, false, ""},
		{"bad ownership", map[string][]string{"X-Amz-Object-Ownership": {"Nobody"}}, "", false, s3err.InvalidArgument},
	}
	for _, c := range cases {
		o, _, ok, err := ForCreateBucket(http.Header(c.headers), "o")
		if codeOf(err) != c.code || o != c.o || ok != c.ok {
			t.Errorf("%s: %q %v %v, want %q %v %q", c.name, o, ok, err, c.o, c.ok, c.code)
		}
	}
}
