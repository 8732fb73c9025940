package bucketsvc

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateBucketName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"my-bucket.example", true},
		{"a1-b2.c3", true},
		{"123", true},
		{strings.Repeat("a", 63), true},
		{"1.2.3", true},             // three parts: not an IP
		{"1.2.3.4.5", true},         // five parts: not an IP
		{"xn-ok", true},             // only "xn--" is reserved
		{"my-s3alias-bucket", true}, // suffix only
		{"ab", false},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"MyBucket", false},
		{"my_bucket", false},
		{"my bucket", false},
		{"-bucket", false},
		{"bucket-", false},
		{".bucket", false},
		{"bucket.", false},
		{"my..bucket", false},
		{"192.168.5.4", false},
		{"999.1.1.1", false},
		{"xn--bucket", false},
		{"sthree-bucket", false},
		{"bucket-s3alias", false},
		{"bucket--ol-s3", false},
		{"bücket", false},
		{"a-.b", false}, // a label ending with '-'
		{"ab.-cd", false},
		{"a-b.c-d", true},
		{"ab--cd", true}, // inner hyphens are fine
	}
	for _, tt := range tests {
		err := ValidateBucketName(tt.name)
		if tt.ok && err != nil {
			t.Errorf("ValidateBucketName(%q) = %v, want nil", tt.name, err)
		}
		if !tt.ok {
			if err == nil {
				t.Errorf("ValidateBucketName(%q) = nil, want error", tt.name)
			} else if !errors.Is(err, ErrInvalidBucketName) {
				t.Errorf("ValidateBucketName(%q) = %v, want ErrInvalidBucketName", tt.name, err)
			}
		}
	}
}
