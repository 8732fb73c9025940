package s3acl

import (
	"encoding/xml"
	"errors"
	"net/http"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// FuzzParse: no body or header value panics; every rejection is an S3
// error; an accepted document renders (Document) to one that parses back
// to the same grants.
func FuzzParse(f *testing.F) {
	f.Add([]byte(policyHead+`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`),
		`id="a", uri="`+AllUsers+`"`, "public-read")
	f.Add([]byte(policyHead+`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>`+LogDelivery+`</URI></Grantee><Permission>WRITE</Permission></Grant></AccessControlList></AccessControlPolicy>`),
		`emailAddress=x@y`, "")
	f.Add([]byte("<AccessControlPolicy><AccessControlList/></AccessControlPolicy>"), `id=""`, "private")
	f.Fuzz(func(t *testing.T, body []byte, grant, canned string) {
		isS3 := func(err error) {
			var e *s3err.Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("not an S3 error: %v", err)
			}
		}
		a, err := ParsePolicy(body)
		isS3(err)
		if err == nil {
			out, merr := xml.Marshal(a.Document(nil))
			if merr != nil {
				t.Fatalf("render: %v", merr)
			}
			back, perr := ParsePolicy(out)
			if perr != nil || grantsString(back.Grants) != grantsString(a.Grants) {
				t.Fatalf("round trip: %v\n%v\n%v\n%s", perr, a.Grants, back.Grants, out)
			}
		}
		h := http.Header{}
		h.Set("x-amz-grant-read", grant)
		if canned != "" {
			h.Set(CannedHeader, canned)
		}
		_, _, err = FromHeaders(h, "o", "b", ForObject)
		isS3(err)
	})
}
