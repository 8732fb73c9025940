package bucketsvc

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidBucketName is wrapped by ValidateBucketName's errors; the HTTP
// boundary maps it to S3's InvalidBucketName.
var ErrInvalidBucketName = errors.New("bucketsvc: invalid bucket name")

// ValidateBucketName checks S3's general-purpose bucket naming rules: 3–63
// characters; lowercase letters, digits, '.' and '-'; starts and ends with a
// letter or digit, and so does every dot-separated label; no two adjacent
// periods; not formatted as an IPv4
// address; no "xn--", "sthree-" or "amzn-s3-demo-" prefix; no "-s3alias" or
// "--ol-s3" suffix. The returned error wraps ErrInvalidBucketName and says
// which rule failed.
func ValidateBucketName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidBucketName, name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-':
		default:
			return bad("only lowercase letters, digits, '.' and '-' are allowed")
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return bad("must begin and end with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("must not contain two adjacent periods")
	}
	// Each dot-separated label begins and ends with a letter or digit, as
	// S3 requires of names usable in virtual-hosted-style hosts ("a-.b",
	// "a.-b" are refused).
	if strings.Contains(name, "-.") || strings.Contains(name, ".-") {
		return bad("each label must begin and end with a letter or digit")
	}
	if looksLikeIPv4(name) {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("must not start with " + p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad("must not end with " + s)
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// looksLikeIPv4 reports names such as "192.168.5.4". Any dotted quad of 1–3
// digit groups counts, valid address or not ("999.1.1.1"), as in S3.
func looksLikeIPv4(name string) bool {
	parts := strings.Split(name, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}
