package regional

// Object Lock (docs/object-lock.md). The bucket's configuration lives in
// the catalog (bucketsvc.Bucket.ObjectLock); a version's retention and
// legal hold live in its record (metapb.ObjectVersion.Lock) and are
// enforced by the metadata service (metastate/objectlock.go): the gateway
// parses, decides the requester's governance bypass, and translates the
// partition's ErrObjectLocked into S3's 403.

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3lock"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

const maxLockBody = 64 << 10

var (
	errLockNeedsVersioning = errors.New("regional: object lock needs versioning enabled")
	errLockPresent         = errors.New("regional: object lock configuration present")
)

// errNoLockConfig is S3's answer to lock headers or lock operations on a
// bucket without Object Lock.
func errNoLockConfig() error {
	return s3err.WithMessage(s3err.InvalidRequest, "Bucket is missing Object Lock Configuration")
}

// errObjectLocked is S3's answer to a delete or retention change that Object
// Lock forbids.
func errObjectLocked() *s3err.Error {
	return s3err.WithMessage(s3err.AccessDenied, "Access Denied because object protected by object lock.")
}

// bypassGovernance reports whether req asks to bypass GOVERNANCE retention
// (x-amz-bypass-governance-retention: true) and may: the
// s3:BypassGovernanceRetention permission, as the authorization engine
// decides it (authz.go: the owner's account unless a policy denies it,
// another account by a policy Allow). The answer travels to the metadata
// service as an explicit flag; COMPLIANCE ignores it.
func (g *Gateway) bypassGovernance(req *request, b bucketsvc.Bucket) bool {
	return s3lock.BypassRequested(req.r.Header) && g.allow(req, b, s3authz.ActionBypassGovernanceRetention, req.key) == nil
}

// The permissions Object Lock asks for inside other operations, as S3
// does: a write's x-amz-object-lock-mode/-retain-until-date need
// s3:PutObjectRetention and its x-amz-object-lock-legal-hold
// s3:PutObjectLegalHold; GET and HEAD show a version's retention only to a
// requester with s3:GetObjectRetention and its legal hold only with
// s3:GetObjectLegalHold.
const (
	actionPutObjectRetention s3authz.Action = "s3:PutObjectRetention"
	actionPutObjectLegalHold s3authz.Action = "s3:PutObjectLegalHold"
	actionGetObjectRetention s3authz.Action = "s3:GetObjectRetention"
	actionGetObjectLegalHold s3authz.Action = "s3:GetObjectLegalHold"
)

// objectLockHeaders reads the x-amz-object-lock-* headers of an object
// write: refused on a bucket without Object Lock (InvalidRequest, checked
// before the values), else validated (s3lock.ParseHeaders), then the
// permissions they need (403 AccessDenied).
func (g *Gateway) objectLockHeaders(req *request, b bucketsvc.Bucket) (s3lock.Settings, error) {
	s, err := s3lock.ParseHeaders(req.r.Header, time.Now())
	if s.Present && b.ObjectLock == nil {
		return s3lock.Settings{}, errNoLockConfig()
	}
	if err != nil {
		return s, err
	}
	if !s.Retention.IsZero() {
		if err := g.allow(req, b, actionPutObjectRetention, req.key); err != nil {
			return s, err
		}
	}
	if req.r.Header.Get(s3lock.HeaderLegalHold) != "" {
		if err := g.allow(req, b, actionPutObjectLegalHold, req.key); err != nil {
			return s, err
		}
	}
	return s, nil
}

// lockRecord is the lock a new version gets: the request's retention, or
// the bucket's default retention counted from created (the record's own
// time, its Last-Modified), and the request's legal hold. nil: none.
func lockRecord(b bucketsvc.Bucket, s s3lock.Settings, created time.Time, withDefault bool) *metapb.ObjectLock {
	r := s.Retention
	if r.IsZero() && withDefault && b.ObjectLock != nil && b.ObjectLock.Default != nil {
		d := b.ObjectLock.Default
		r = s3lock.Retention{Mode: d.Mode, Until: s3lock.Truncate(d.Until(created))}
	}
	if r.IsZero() && !s.LegalHold {
		return nil
	}
	return &metapb.ObjectLock{Mode: string(r.Mode), Until: r.Until, LegalHold: s.LegalHold}
}

// declaresIntegrity reports whether an upload carries Content-MD5 or an
// x-amz-checksum-* (header or trailer, or verified by the edge), which S3
// requires of a PutObject with Object Lock parameters; the body reader
// verifies whichever is sent.
func declaresIntegrity(req *request) bool {
	h := req.r.Header
	if h.Get("Content-MD5") != "" {
		return true
	}
	if _, ok := edgeFrom(req.r); ok && h.Get(regionalclient.HeaderChecksumAlgorithms) != "" {
		return true
	}
	for name := range h {
		l := strings.ToLower(name)
		if a, ok := strings.CutPrefix(l, "x-amz-checksum-"); ok && a != "algorithm" && a != "type" {
			return true
		}
	}
	return strings.Contains(strings.ToLower(h.Get("X-Amz-Trailer")), "x-amz-checksum-")
}

// errLockNeedsIntegrity answers a PutObject with Object Lock parameters
// and neither Content-MD5 nor a checksum.
func errLockNeedsIntegrity() error {
	return s3err.WithMessage(s3err.InvalidRequest, "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
}

// setLockHeaders answers a GET or HEAD with the version's lock state, each
// part only to a requester who may read it (no log line when not: that is
// the normal answer to a reader without the permission).
func (g *Gateway) setLockHeaders(req *request, b bucketsvc.Bucket, h http.Header, v *metapb.ObjectVersion) {
	if v.Lock == nil {
		return
	}
	may := func(a s3authz.Action) bool {
		res, err := g.decide(req, b, a, req.key)
		return err == nil && res.Allowed()
	}
	r, hold := s3lock.Retention{Mode: s3lock.Mode(v.Lock.Mode), Until: v.Lock.Until}, v.Lock.LegalHold
	if r.Mode != "" && !may(actionGetObjectRetention) {
		r = s3lock.Retention{}
	}
	if hold && !may(actionGetObjectLegalHold) {
		hold = false
	}
	s3lock.SetHeaders(h, r, hold)
}

func readLockBody(req *request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(req.auth.Body, maxLockBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxLockBody {
		return nil, s3err.New(s3err.MalformedXML)
	}
	if err := checkContentMD5(req, body); err != nil { // versioning.go
		return nil, err
	}
	return body, nil
}

// putObjectLockConfiguration enables Object Lock on a versioned bucket (as
// AWS now allows for existing buckets) and sets or replaces its default
// retention. x-amz-bucket-object-lock-token, which AWS no longer needs, is
// accepted and not checked.
func (g *Gateway) putObjectLockConfiguration(req *request) error {
	if _, err := g.bucketFor(req); err != nil {
		return err
	}
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	cfg, err := s3lock.ParseConfiguration(body)
	if err != nil {
		return err
	}
	err = g.cfg.Catalog.UpdateBucket(req.r.Context(), req.bucket, func(b *bucketsvc.Bucket) error {
		if b.MetaKey() != req.mb { // re-created meanwhile: not the bucket we checked
			return bucketsvc.ErrNoSuchBucket
		}
		if b.Versioning != bucketsvc.VersioningEnabled {
			return errLockNeedsVersioning
		}
		b.ObjectLock = &cfg
		return nil
	})
	if errors.Is(err, errLockNeedsVersioning) {
		return s3err.WithMessage(s3err.InvalidBucketState, "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	}
	if err != nil {
		return g.catalogUpdateErr(req, err) // lifecycle.go
	}
	req.log.Info("object lock configuration set", "default", cfg.Default != nil)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

// getObjectLockConfiguration: the stored configuration, or 404
// ObjectLockConfigurationNotFoundError.
func (g *Gateway) getObjectLockConfiguration(req *request) error {
	b, err := g.bucketFor(req)
	if err != nil {
		return err
	}
	if b.ObjectLock == nil {
		return s3err.New(s3err.ObjectLockConfigNotFound).With("BucketName", req.bucket)
	}
	return writeXML(req, http.StatusOK, b.ObjectLock.Document())
}

// lockedObject is objectFor on a lock-enabled bucket: InvalidRequest on a
// bucket without Object Lock, checked before the object.
func (g *Gateway) lockedObject(req *request) (bucketsvc.Bucket, metapb.ObjectVersion, error) {
	b, err := g.bucketFor(req)
	if err != nil {
		return b, metapb.ObjectVersion{}, err
	}
	if b.ObjectLock == nil {
		return b, metapb.ObjectVersion{}, errNoLockConfig()
	}
	return g.objectFor(req) // defaults.go
}

func errNoObjectLock() error {
	return s3err.WithMessage(s3err.NoSuchObjectLockConfiguration, "The specified object does not have a ObjectLock configuration")
}

// getObjectRetention: the version's retention, or 404
// NoSuchObjectLockConfiguration.
func (g *Gateway) getObjectRetention(req *request) error {
	b, v, err := g.lockedObject(req)
	if err != nil {
		return err
	}
	if v.Lock == nil || v.Lock.Mode == "" {
		return errNoObjectLock()
	}
	setVersionHeader(req.w.Header(), b, &v)
	return writeXML(req, http.StatusOK, s3lock.Retention{Mode: s3lock.Mode(v.Lock.Mode), Until: v.Lock.Until}.Document())
}

// getObjectLegalHold: the version's legal hold (OFF when it has a lock
// state without one), or 404 NoSuchObjectLockConfiguration.
func (g *Gateway) getObjectLegalHold(req *request) error {
	b, v, err := g.lockedObject(req)
	if err != nil {
		return err
	}
	if v.Lock == nil {
		return errNoObjectLock()
	}
	setVersionHeader(req.w.Header(), b, &v)
	return writeXML(req, http.StatusOK, s3lock.LegalHoldOf(v.Lock.LegalHold))
}

// putObjectRetention sets, extends, shortens or removes the version's
// retention; the metadata service decides whether the change is allowed
// (s3lock.RetentionChange) with the requester's governance bypass.
func (g *Gateway) putObjectRetention(req *request) error {
	b, v, err := g.lockedObject(req)
	if err != nil {
		return err
	}
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	r, err := s3lock.ParseRetention(body, time.Now())
	if err != nil {
		return err
	}
	return g.putLock(req, b, metapb.PutLockRequest{Bucket: req.mb, Key: req.key, Ver: v.S3VersionID(),
		Retention: &metapb.ObjectLock{Mode: string(r.Mode), Until: r.Until}, BypassGovernance: g.bypassGovernance(req, b)})
}

// putObjectLegalHold turns the version's legal hold on or off.
func (g *Gateway) putObjectLegalHold(req *request) error {
	b, v, err := g.lockedObject(req)
	if err != nil {
		return err
	}
	body, err := readLockBody(req)
	if err != nil {
		return err
	}
	on, err := s3lock.ParseLegalHold(body)
	if err != nil {
		return err
	}
	return g.putLock(req, b, metapb.PutLockRequest{Bucket: req.mb, Key: req.key, Ver: v.S3VersionID(), LegalHold: &on})
}

func (g *Gateway) putLock(req *request, b bucketsvc.Bucket, r metapb.PutLockRequest) error {
	res, err := g.cfg.Meta.PutLock(req.r.Context(), r)
	if err != nil {
		return err
	}
	setVersionHeader(req.w.Header(), b, res.Version)
	req.w.WriteHeader(http.StatusOK)
	return nil
}
