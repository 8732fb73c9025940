// Package s3acl is the model of S3 access control lists: grants of
// permissions to canonical users (Meridian account ids) and to S3's
// predefined groups, and the question an authorization engine asks of them
// ("does this ACL grant this requester this permission?"). Pure functions;
// no I/O.
//
// The canonical user id of a Meridian account is its account id.
package s3acl

// Permission is an ACL permission, spelled as S3 spells it.
type Permission string

const (
	FullControl Permission = "FULL_CONTROL"
	Read        Permission = "READ"
	Write       Permission = "WRITE"
	ReadACP     Permission = "READ_ACP"
	WriteACP    Permission = "WRITE_ACP"
)

// Valid reports whether p is one of S3's five permissions.
func (p Permission) Valid() bool {
	switch p {
	case FullControl, Read, Write, ReadACP, WriteACP:
		return true
	}
	return false
}

// GranteeType is a grantee's xsi:type.
type GranteeType string

const (
	CanonicalUser GranteeType = "CanonicalUser"
	Group         GranteeType = "Group"
	// ByEmail grantees are resolved to CanonicalUser when an ACL is stored;
	// a stored ACL never holds one.
	ByEmail GranteeType = "AmazonCustomerByEmail"
)

// S3's predefined groups.
const (
	AllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	AuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	LogDelivery        = "http://acs.amazonaws.com/groups/s3/LogDelivery"
)

// Grantee of a grant: ID for a canonical user, URI for a group.
type Grantee struct {
	Type        GranteeType `json:"type"`
	ID          string      `json:"id,omitempty"`
	DisplayName string      `json:"display_name,omitempty"`
	URI         string      `json:"uri,omitempty"`
	Email       string      `json:"email,omitempty"`
}

// Grant gives Grantee one permission.
type Grant struct {
	Grantee    Grantee    `json:"grantee"`
	Permission Permission `json:"permission"`
}

// ACL is a bucket's or an object's access control list. Owner is the
// canonical id (account id) of the resource's owner.
type ACL struct {
	Owner  string  `json:"owner"`
	Grants []Grant `json:"grants,omitempty"`
}

// Requester is who asks: an authenticated account, or anonymous.
type Requester struct {
	Anonymous bool
	AccountID string // "" when Anonymous
}

// Private is the ACL S3 gives a resource when none is named: its owner
// has FULL_CONTROL.
func Private(owner string) ACL {
	return ACL{Owner: owner, Grants: []Grant{{Grantee: Grantee{Type: CanonicalUser, ID: owner}, Permission: FullControl}}}
}

// Allows reports whether a grants r permission p: a grant of p or of
// FULL_CONTROL to r's account, to AllUsers, or (when r is authenticated)
// to AuthenticatedUsers. The owner's implicit rights are not ACL grants:
// the authorization engine decides those.
func (a ACL) Allows(r Requester, p Permission) bool {
	for _, g := range a.Grants {
		if g.Permission != p && g.Permission != FullControl {
			continue
		}
		if g.Grantee.matches(r) {
			return true
		}
	}
	return false
}

func (g Grantee) matches(r Requester) bool {
	switch g.Type {
	case CanonicalUser:
		return !r.Anonymous && r.AccountID != "" && g.ID == r.AccountID
	case Group:
		switch g.URI {
		case AllUsers:
			return true
		case AuthenticatedUsers:
			return !r.Anonymous
		}
	}
	return false
}

// IsPublic reports whether a grants anything to AllUsers or
// AuthenticatedUsers — what S3's Block Public Access calls a public ACL.
func (a ACL) IsPublic() bool {
	for _, g := range a.Grants {
		if g.Grantee.Type == Group && (g.Grantee.URI == AllUsers || g.Grantee.URI == AuthenticatedUsers) {
			return true
		}
	}
	return false
}
