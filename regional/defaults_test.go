package regional_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSubresourceDefaults: GETs of configurations Meridian does not store
// answer what S3 answers for a bucket or object without them, after the
// bucket and object checks; writes answer NotImplemented; nothing reaches
// a neighbour's operation (a ListBucketResult, a deleted object).
func TestSubresourceDefaults(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/defaults", nil, nil)
	body := []byte("the object's bytes")
	w.mustStatus(200, "PUT", "/defaults/k", body, nil)

	tests := []struct {
		method, path string
		status       int
		want         string // error code, or root element of the document
	}{
		{"GET", "/defaults?accelerate", 200, "AccelerateConfiguration"},
		{"GET", "/defaults?logging", 200, "BucketLoggingStatus"},
		{"GET", "/defaults?notification", 200, "NotificationConfiguration"},
		{"GET", "/defaults?requestPayment", 200, "RequestPaymentConfiguration"},
		{"GET", "/defaults?acl", 200, "AccessControlPolicy"},
		{"GET", "/defaults?metrics", 200, "ListMetricsConfigurationsResult"},
		{"GET", "/defaults?analytics", 200, "ListBucketAnalyticsConfigurationResult"},
		{"GET", "/defaults?inventory", 200, "ListInventoryConfigurationsResult"},
		{"GET", "/defaults?intelligent-tiering", 200, "ListBucketIntelligentTieringConfigurationsOutput"},
		{"GET", "/defaults?policy", 404, "NoSuchBucketPolicy"},
		{"GET", "/defaults?policyStatus", 404, "NoSuchBucketPolicy"},
		{"GET", "/defaults?tagging", 404, "NoSuchTagSet"},
		{"GET", "/defaults?cors", 404, "NoSuchCORSConfiguration"},
		{"GET", "/defaults?lifecycle", 404, "NoSuchLifecycleConfiguration"},
		{"GET", "/defaults?encryption", 404, "ServerSideEncryptionConfigurationNotFoundError"},
		{"GET", "/defaults?replication", 404, "ReplicationConfigurationNotFoundError"}, // regional/replication.go
		{"GET", "/defaults?website", 404, "NoSuchWebsiteConfiguration"},
		{"GET", "/defaults?object-lock", 404, "ObjectLockConfigurationNotFoundError"},
		{"GET", "/defaults?publicAccessBlock", 404, "NoSuchPublicAccessBlockConfiguration"},
		{"GET", "/defaults?ownershipControls", 200, "OwnershipControls"}, // BucketOwnerEnforced, every new bucket's (acl.go)
		{"GET", "/defaults?metrics&id=m1", 404, "NoSuchConfiguration"},
		{"GET", "/defaults/k?tagging", 200, "Tagging"},
		{"GET", "/defaults/k?acl", 200, "AccessControlPolicy"},
		{"GET", "/defaults/k?retention", 400, "InvalidRequest"},
		{"GET", "/defaults/k?legal-hold", 400, "InvalidRequest"},
		{"GET", "/defaults/k?tagging&versionId=bogus", 400, "InvalidArgument"},
		// The checks come first.
		{"GET", "/no-such-bucket-here?accelerate", 404, "NoSuchBucket"},
		{"GET", "/no-such-bucket-here?policy", 404, "NoSuchBucket"},
		{"GET", "/defaults/missing?tagging", 404, "NoSuchKey"},
		{"GET", "/defaults/missing?acl", 404, "NoSuchKey"},
		// Writes and unknown operations.
		{"PUT", "/defaults?accelerate", 501, "NotImplemented"},
		{"PUT", "/defaults?policy", 400, "MalformedPolicy"}, // an empty body (policy.go)
		{"DELETE", "/defaults?policy", 204, ""},
		{"DELETE", "/defaults/k?acl", 405, "MethodNotAllowed"},
		{"DELETE", "/defaults/k?frobnicate", 501, "NotImplemented"},
		{"DELETE", "/defaults/k?tagging&acl", 400, "InvalidRequest"},
		{"GET", "/defaults?frobnicate", 501, "NotImplemented"},
	}
	for _, tc := range tests {
		code, out := w.do(tc.method, tc.path, nil, nil)
		got := s3code(out)
		if code < 300 {
			got = rootElement(out)
		}
		if code != tc.status || got != tc.want {
			t.Errorf("%s %s: %d %s, want %d %s\n%s", tc.method, tc.path, code, got, tc.status, tc.want, out)
		}
	}
	if got := w.mustStatus(200, "GET", "/defaults/k", nil, nil); !bytes.Equal(got, body) {
		t.Fatalf("the object changed: %q", got)
	}

	// The ACL names the owner with FULL_CONTROL.
	var acl struct {
		Owner struct{ ID, DisplayName string }
		Grant []struct {
			Grantee struct {
				Type string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
				ID   string
			}
			Permission string
		} `xml:"AccessControlList>Grant"`
	}
	if err := xml.Unmarshal(w.mustStatus(200, "GET", "/defaults/k?acl", nil, nil), &acl); err != nil {
		t.Fatal(err)
	}
	if acl.Owner.ID == "" || acl.Owner.DisplayName != "test" || len(acl.Grant) != 1 || acl.Grant[0].Grantee.ID != acl.Owner.ID ||
		acl.Grant[0].Grantee.Type != "CanonicalUser" || acl.Grant[0].Permission != "FULL_CONTROL" {
		t.Errorf("object ACL: %+v", acl)
	}
	if out := string(w.mustStatus(200, "GET", "/defaults/k?tagging", nil, nil)); !strings.Contains(out, "<TagSet></TagSet>") {
		t.Errorf("object tagging: %s", out)
	}
}

// TestAuthenticateBeforeRouting: an unsigned request learns nothing about
// operations, bucket names or health endpoints: AccessDenied for all (an
// unsigned request reaches handlers only once a bucket's policy allows it).
func TestAuthenticateBeforeRouting(t *testing.T) {
	w := newWorld(t)
	w.mustStatus(200, "PUT", "/authfirst", nil, nil)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/authfirst?frobnicate"},
		{"DELETE", "/authfirst/k?acl"},
		{"GET", "/authfirst?accelerate"},
		{"GET", "/Bad_Bucket_Name"},
		{"PATCH", "/authfirst"},
		{"GET", "/healthz"},
		{"GET", "/readyz"},
	} {
		req, _ := http.NewRequest(tc.method, w.url+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || s3code(out) != "AccessDenied" {
			t.Errorf("unsigned %s %s: %d %s", tc.method, tc.path, resp.StatusCode, out)
		}
	}
	// /healthz is a bucket name like any other on the S3 listener.
	if code, out := w.do("GET", "/healthz", nil, nil); code != 404 || s3code(out) != "NoSuchBucket" {
		t.Errorf("signed GET /healthz: %d %s", code, out)
	}
}

func rootElement(b []byte) string {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local
		}
	}
}
