package s3acl

import "testing"

func TestAllows(t *testing.T) {
	owner, other := "acct-owner", "acct-other"
	acl := ACL{Owner: owner, Grants: []Grant{
		{Grantee: Grantee{Type: CanonicalUser, ID: owner}, Permission: FullControl},
		{Grantee: Grantee{Type: CanonicalUser, ID: other}, Permission: ReadACP},
		{Grantee: Grantee{Type: Group, URI: AuthenticatedUsers}, Permission: Write},
		{Grantee: Grantee{Type: Group, URI: AllUsers}, Permission: Read},
	}}
	anon := Requester{Anonymous: true}
	cases := []struct {
		name string
		acl  ACL
		r    Requester
		p    Permission
		want bool
	}{
		{"owner full control covers write_acp", acl, Requester{AccountID: owner}, WriteACP, true},
		{"grantee read_acp", acl, Requester{AccountID: other}, ReadACP, true},
		{"grantee lacks write_acp", acl, Requester{AccountID: other}, WriteACP, false},
		{"authenticated group write", acl, Requester{AccountID: other}, Write, true},
		{"anonymous not authenticated", acl, anon, Write, false},
		{"anonymous all-users read", acl, anon, Read, true},
		{"private denies anonymous read", Private(owner), anon, Read, false},
		{"private denies other", Private(owner), Requester{AccountID: other}, Read, false},
		{"anonymous never a canonical user", ACL{Grants: []Grant{{Grantee: Grantee{Type: CanonicalUser, ID: ""}, Permission: Read}}}, anon, Read, false},
		{"unknown group grants nothing", ACL{Grants: []Grant{{Grantee: Grantee{Type: Group, URI: LogDelivery}, Permission: Read}}}, Requester{AccountID: other}, Read, false},
	}
	for _, c := range cases {
		if got := c.acl.Allows(c.r, c.p); got != c.want {
			t.Errorf("%s: Allows = %v, want %v", c.name, got, c.want)
		}
	}
	if !acl.IsPublic() || Private(owner).IsPublic() {
		t.Errorf("IsPublic wrong")
	}
	for _, p := range []Permission{FullControl, Read, Write, ReadACP, WriteACP} {
		if !p.Valid() {
			t.Errorf("%s not valid", p)
		}
	}
	if Permission("read").Valid() {
		t.Errorf("lower-case permission valid")
	}
}
