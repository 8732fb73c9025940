package metaclient

import (
	"errors"
	"testing"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Every Result code a write can answer maps to its sentinel, so callers
// decide by errors.Is, never by strings (the fencing codes included).
func TestResultErrorSentinels(t *testing.T) {
	for code, want := range map[string]error{
		metapb.ErrBucketNotEmpty: ErrBucketNotEmpty,
		metapb.ErrBucketSealed:   ErrBucketSealed,
		metapb.ErrBucketGone:     ErrBucketGone,
		metapb.ErrPrecondition:   ErrPrecondition,
		metapb.ErrNotFound:       ErrNotFound,
		metapb.ErrConflict:       ErrConflict,
	} {
		err := resultErr(code, "msg")
		if !errors.Is(err, want) {
			t.Errorf("%s: %v is not %v", code, err, want)
		}
		for other, s := range codeErrors {
			if other != code && s != want && errors.Is(err, s) {
				t.Errorf("%s also matches %v", code, s)
			}
		}
	}
}
