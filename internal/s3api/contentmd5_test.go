package s3api

import (
	"errors"
	"net/http"
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestContentMD5(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []string // nil: header absent
		want   int      // digest length
		bad    bool
	}{
		{"absent", nil, 0, false},
		{"valid", []string{"1B2M2Y8AsgTpgAmY7PhCfg=="}, 16, false},
		{"empty", []string{""}, 0, true},
		{"not base64", []string{"%%%"}, 0, true},
		{"wrong length", []string{"AAAA"}, 0, true},
		{"repeated", []string{"1B2M2Y8AsgTpgAmY7PhCfg==", "1B2M2Y8AsgTpgAmY7PhCfg=="}, 0, true},
	} {
		h := http.Header{}
		if c.values != nil {
			h["Content-Md5"] = c.values
		}
		d, err := ContentMD5(h)
		var e *s3err.Error
		if c.bad != (err != nil) || (err != nil && (!errors.As(err, &e) || e.Code != s3err.InvalidDigest)) || len(d) != c.want {
			t.Errorf("%s: %x, %v", c.name, d, err)
		}
	}
}
