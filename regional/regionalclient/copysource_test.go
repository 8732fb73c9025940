package regionalclient

import (
	"testing"
	"time"
)

func TestCopySourceRoundTrip(t *testing.T) {
	c := CopySource{Region: "eu-west-1", Bucket: "b", Key: "dir/ké y", VersionID: "null", Size: 10, Offset: 2, Length: 5,
		ETag: "abc", Modified: time.Unix(1700000000, 0).UTC(), ContentType: "text/plain",
		Headers: map[string]string{"Cache-Control": "no-cache"}, UserMeta: map[string]string{"ünï": "cödé"}}
	got, err := DecodeCopySource(c.Encode())
	if err != nil || got.Key != c.Key || got.UserMeta["ünï"] != "cödé" || !got.Modified.Equal(c.Modified) || got.Offset != 2 || got.Length != 5 {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "!!", CopySource{Key: "k", Size: 1}.Encode(), CopySource{Bucket: "b", Size: 1}.Encode(),
		CopySource{Bucket: "b", Key: "k", Size: 4, Offset: 2, Length: 3}.Encode(), CopySource{Bucket: "b", Key: "k", Size: -1}.Encode()} {
		if _, err := DecodeCopySource(bad); err == nil {
			t.Errorf("DecodeCopySource(%q) accepted", bad)
		}
	}
}
