package s3acl

import (
	"encoding/xml"
	"errors"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// MaxGrants is S3's limit of grants in one ACL.
const MaxGrants = 100

// XSI is the XML Schema instance namespace of a Grantee's xsi:type.
const XSI = "http://www.w3.org/2001/XMLSchema-instance"

// AccessControlPolicy is the document GetBucketAcl and GetObjectAcl answer
// (Document builds it).
type AccessControlPolicy struct {
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	XMLNS   string     `xml:"xmlns,attr"`
	Owner   OwnerDoc   `xml:"Owner"`
	Grants  []GrantDoc `xml:"AccessControlList>Grant"`
}

// OwnerDoc is the Owner element.
type OwnerDoc struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

// GrantDoc is one Grant element.
type GrantDoc struct {
	Grantee    GranteeDoc `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

// GranteeDoc is a Grantee element as written, with its xsi:type.
type GranteeDoc struct {
	XMLNSXSI     string `xml:"xmlns:xsi,attr"`
	Type         string `xml:"xsi:type,attr"`
	ID           string `xml:"ID,omitempty"`
	DisplayName  string `xml:"DisplayName,omitempty"`
	EmailAddress string `xml:"EmailAddress,omitempty"`
	URI          string `xml:"URI,omitempty"`
}

// Document renders a as S3 writes it; display names an account's display
// name by its id ("" to leave it out).
func (a ACL) Document(display func(id string) string) AccessControlPolicy {
	name := func(id string) string {
		if display == nil {
			return ""
		}
		return display(id)
	}
	doc := AccessControlPolicy{XMLNS: s3api.XMLNS, Owner: OwnerDoc{ID: a.Owner, DisplayName: name(a.Owner)}}
	doc.Grants = make([]GrantDoc, 0, len(a.Grants))
	for _, g := range a.Grants {
		gd := GranteeDoc{XMLNSXSI: XSI, Type: string(g.Grantee.Type)}
		switch g.Grantee.Type {
		case CanonicalUser:
			gd.ID, gd.DisplayName = g.Grantee.ID, name(g.Grantee.ID)
		case Group:
			gd.URI = g.Grantee.URI
		case ByEmail:
			gd.EmailAddress = g.Grantee.Email
		}
		doc.Grants = append(doc.Grants, GrantDoc{Grantee: gd, Permission: string(g.Permission)})
	}
	return doc
}

// parse-side documents: xsi:type is matched by local name whatever prefix
// (or none) the client bound it to.
type policyIn struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	List *struct {
		Grants []grantIn `xml:"Grant"`
	} `xml:"AccessControlList"`
}

type grantIn struct {
	Grantee *struct {
		Attrs []xml.Attr `xml:",any,attr"`
		ID    string     `xml:"ID"`
		Email string     `xml:"EmailAddress"`
		URI   string     `xml:"URI"`
	} `xml:"Grantee"`
	Permission string `xml:"Permission"`
}

func errMalformedACL() error { return s3err.New(s3err.MalformedACLError) }

func errTooManyGrants() error {
	return s3err.WithMessage(s3err.MalformedACLError, "The request contains more than the 100 grants an access control list may hold.")
}

// ParsePolicy parses a Put…Acl body. A body that is not an
// AccessControlPolicy with an AccessControlList, a grant without a known
// xsi:type and the element that type needs, a permission S3 does not
// define, or more than MaxGrants grants answers 400 MalformedACLError; an
// unknown group URI 400 InvalidArgument. The returned ACL's Owner is the
// document's Owner ID ("" when it has none); email grantees are left for
// Resolve.
func ParsePolicy(body []byte) (ACL, error) {
	var in policyIn
	if err := s3api.DecodeXML(body, &in); err != nil {
		var se *s3err.Error
		if errors.As(err, &se) && se.Code == s3err.MalformedXML {
			return ACL{}, errMalformedACL()
		}
		return ACL{}, err
	}
	if in.List == nil {
		return ACL{}, errMalformedACL()
	}
	if len(in.List.Grants) > MaxGrants {
		return ACL{}, errTooManyGrants()
	}
	var a ACL
	if in.Owner != nil {
		a.Owner = in.Owner.ID
	}
	for _, gi := range in.List.Grants {
		p := Permission(gi.Permission)
		if gi.Grantee == nil || !p.Valid() {
			return ACL{}, errMalformedACL()
		}
		var typ string
		for _, at := range gi.Grantee.Attrs {
			if at.Name.Local == "type" {
				typ = at.Value
			}
		}
		var g Grantee
		switch GranteeType(typ) {
		case CanonicalUser:
			if gi.Grantee.ID == "" {
				return ACL{}, errMalformedACL()
			}
			g = Grantee{Type: CanonicalUser, ID: gi.Grantee.ID}
		case Group:
			if gi.Grantee.URI == "" {
				return ACL{}, errMalformedACL()
			}
			if !knownGroup(gi.Grantee.URI) {
				return ACL{}, errInvalidGroup(gi.Grantee.URI)
			}
			g = Grantee{Type: Group, URI: gi.Grantee.URI}
		case ByEmail:
			if gi.Grantee.Email == "" {
				return ACL{}, errMalformedACL()
			}
			g = Grantee{Type: ByEmail, Email: gi.Grantee.Email}
		default:
			return ACL{}, errMalformedACL()
		}
		a.Grants = append(a.Grants, Grant{Grantee: g, Permission: p})
	}
	return a, nil
}

// Resolver answers what Resolve needs to know about accounts.
type Resolver interface {
	// AccountExists reports whether a canonical user id names an account.
	AccountExists(id string) (bool, error)
	// AccountByEmail returns the id of the account with that email address
	// ("" when none has it).
	AccountByEmail(email string) (id string, err error)
}

// Resolve checks a's grantees against the accounts and turns email
// grantees into canonical users: an id no account has answers 400
// InvalidArgument "Invalid id" (ExecReadID is accepted), an email no account
// has 400 UnresolvableGrantByEmailAddress; the resolver's own errors are
// returned as they are. The result holds only
// CanonicalUser and Group grantees, as a stored ACL must.
func Resolve(a ACL, r Resolver) (ACL, error) {
	out := ACL{Owner: a.Owner, Grants: make([]Grant, 0, len(a.Grants))}
	for _, g := range a.Grants {
		switch g.Grantee.Type {
		case CanonicalUser:
			ok := g.Grantee.ID == ExecReadID
			if !ok {
				var err error
				if ok, err = r.AccountExists(g.Grantee.ID); err != nil {
					return ACL{}, err
				}
			}
			if !ok {
				return ACL{}, s3err.WithMessage(s3err.InvalidArgument, "Invalid id").
					With("ArgumentName", "CanonicalUser/ID").With("ArgumentValue", truncate(g.Grantee.ID))
			}
			out.Grants = append(out.Grants, Grant{Grantee: Grantee{Type: CanonicalUser, ID: g.Grantee.ID}, Permission: g.Permission})
		case ByEmail:
			id, err := r.AccountByEmail(g.Grantee.Email)
			if err != nil {
				return ACL{}, err
			}
			if id == "" {
				return ACL{}, s3err.New(s3err.UnresolvableGrantByEmailAddress).With("EmailAddress", truncate(g.Grantee.Email))
			}
			out.Grants = append(out.Grants, Grant{Grantee: Grantee{Type: CanonicalUser, ID: id}, Permission: g.Permission})
		default:
			out.Grants = append(out.Grants, Grant{Grantee: Grantee{Type: g.Grantee.Type, URI: g.Grantee.URI}, Permission: g.Permission})
		}
	}
	return out, nil
}
