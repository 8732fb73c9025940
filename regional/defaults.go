package regional

// Answers for the GETs of configurations Meridian does not store yet: what
// S3 answers for a bucket (or object) that has none. Each still checks that
// the bucket exists and the caller owns it (bucketFor), and for object
// subresources that the object exists. Writes of these configurations have
// no default: they answer NotImplemented (gateway.go notImplemented).

import (
	"net/http"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/s3route"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// defaultHandler is the answer for op on a bucket or object without that
// configuration, or nil when op has no safe default.
func (g *Gateway) defaultHandler(op s3route.Operation) handler {
	switch op {
	// Empty documents.
	case s3route.GetBucketAccelerateConfiguration:
		return g.bucketDocument(s3api.AccelerateConfiguration{XMLNS: s3api.XMLNS})
	case s3route.GetBucketLogging:
		return g.bucketDocument(s3api.BucketLoggingStatus{XMLNS: s3api.XMLNS})
	case s3route.GetBucketNotificationConfiguration:
		return g.bucketDocument(s3api.NotificationConfiguration{XMLNS: s3api.XMLNS})
	case s3route.GetBucketRequestPayment:
		return g.bucketDocument(s3api.RequestPaymentConfiguration{XMLNS: s3api.XMLNS, Payer: "BucketOwner"})
	case s3route.ListBucketAnalyticsConfigurations:
		return g.bucketDocument(s3api.EmptyList("ListBucketAnalyticsConfigurationResult"))
	case s3route.ListBucketMetricsConfigurations:
		return g.bucketDocument(s3api.EmptyList("ListMetricsConfigurationsResult"))
	case s3route.ListBucketInventoryConfigurations:
		return g.bucketDocument(s3api.EmptyList("ListInventoryConfigurationsResult"))
	case s3route.ListBucketIntelligentTieringConfigurations:
		return g.bucketDocument(s3api.EmptyList("ListBucketIntelligentTieringConfigurationsOutput"))

	// "Not found" errors.
	case s3route.GetBucketWebsite:
		return g.bucketNotFound(s3err.NoSuchWebsiteConfiguration)
	case s3route.GetBucketAnalyticsConfiguration, s3route.GetBucketMetricsConfiguration,
		s3route.GetBucketInventoryConfiguration, s3route.GetBucketIntelligentTieringConfiguration:
		return g.bucketNotFound(s3err.NoSuchConfiguration)

	}
	return nil
}

// bucketDocument answers doc once the bucket checks pass.
func (g *Gateway) bucketDocument(doc any) handler {
	return func(req *request) error {
		if _, err := g.bucketFor(req); err != nil {
			return err
		}
		return writeXML(req, http.StatusOK, doc)
	}
}

// bucketNotFound answers code (a 404 "no such configuration") once the
// bucket checks pass.
func (g *Gateway) bucketNotFound(code s3err.Code) handler {
	return func(req *request) error {
		if _, err := g.bucketFor(req); err != nil {
			return err
		}
		return s3err.New(code).With("BucketName", req.bucket)
	}
}

// owner names an account as S3 writes it in ACLs and listings.
func (g *Gateway) owner(req *request, id string) s3api.Owner {
	o := s3api.Owner{ID: id}
	if acct, err := g.cfg.Catalog.GetAccount(req.r.Context(), id); err == nil {
		o.DisplayName = acct.DisplayName
	}
	return o
}

// objectFor loads the object an object-subresource request names: the
// bucket checks, the ?versionId check every object handler makes
// (checkVersionParam), then the named or current version (resolveVersion).
func (g *Gateway) objectFor(req *request) (bucketsvc.Bucket, metapb.ObjectVersion, error) {
	b, err := g.bucketFor(req)
	if err != nil {
		return b, metapb.ObjectVersion{}, err
	}
	if err := checkVersionParam(req.r.URL.Query(), b); err != nil {
		return b, metapb.ObjectVersion{}, err
	}
	v, err := g.resolveVersion(req, b)
	return b, v, err
}
