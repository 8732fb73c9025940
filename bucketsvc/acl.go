package bucketsvc

import (
	"context"
	"errors"
	"net/http"

	"github.com/meridian-s3/meridian/internal/s3acl"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
)

// AccountGetter reads accounts (Store and the parts' catalog views).
type AccountGetter interface {
	GetAccount(ctx context.Context, id string) (Account, error)
}

// GranteeResolver answers internal/s3acl.Resolve's questions from the
// catalog: a canonical user id is an account id. Accounts have no email
// address, so no email grantee resolves (S3's
// UnresolvableGrantByEmailAddress).
type GranteeResolver struct {
	Ctx      context.Context
	Accounts AccountGetter
}

// AccountExists implements s3acl.Resolver.
func (r GranteeResolver) AccountExists(id string) (bool, error) {
	_, err := r.Accounts.GetAccount(r.Ctx, id)
	if errors.Is(err, ErrNoSuchAccount) {
		return false, nil
	}
	return err == nil, err
}

// AccountByEmail implements s3acl.Resolver.
func (r GranteeResolver) AccountByEmail(string) (string, error) { return "", nil }

// CreationACL is the ownership controls and ACL a CreateBucket by owner
// with headers h gives the bucket (s3acl.ForCreateBucket, grantees resolved
// against accounts); the ACL is nil when the request names none or names
// only the owner's FULL_CONTROL (the default). A public ACL refused by the
// owner account's BlockPublicAcls (when accounts keeps account settings,
// AccountPublicAccessBlocks) answers 403 AccessDenied, as S3. Errors are S3
// errors.
func CreationACL(ctx context.Context, accounts AccountGetter, h http.Header, owner string) (s3acl.Ownership, *s3acl.ACL, error) {
	o, a, ok, err := s3acl.ForCreateBucket(h, owner)
	if err != nil || !ok {
		return o, nil, err
	}
	if a, err = s3acl.Resolve(a, GranteeResolver{Ctx: ctx, Accounts: accounts}); err != nil {
		return "", nil, err
	}
	if pabs, ok := accounts.(AccountPublicAccessBlocks); ok && a.IsPublic() {
		p, err := pabs.GetAccountPublicAccessBlock(ctx, owner)
		if err != nil {
			return "", nil, err
		}
		if p != nil && s3authz.BlocksPublicACL(*p, a) {
			return "", nil, s3err.New(s3err.AccessDenied)
		}
	}
	if !o.ACLsEnabled() || len(a.Grants) == 1 && a.OnlyOwner(owner) {
		return o, nil, nil
	}
	return o, &a, nil
}
