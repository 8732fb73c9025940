package regional

import "testing"

// TestEncodeName: encoding-type=url as S3 answers it (the examples of the
// S3 conformance suites: "foo+1/" → "foo%2B1/", "quux ab/" → "quux%20ab/",
// the delimiter "/" unchanged).
func TestEncodeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/", "/"},
		{"foo+1/", "foo%2B1/"},
		{"quux ab/", "quux%20ab/"},
		{"asdf+b", "asdf%2Bb"},
		{"a-b_c.d~e", "a-b_c.d~e"},
		{"é", "%C3%A9"},
		{"\x01x", "%01x"},
		{"100%", "100%25"},
		{"a=b&c", "a%3Db%26c"},
		{"", ""},
	} {
		if got := encodeName(c.in, true); got != c.want {
			t.Errorf("encodeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := encodeName(c.in, false); got != c.in {
			t.Errorf("encodeName(%q, false) = %q", c.in, got)
		}
	}
}
