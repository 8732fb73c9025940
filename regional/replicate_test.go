package regional

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/regional/regionalclient"
)

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// multipartReplica describes body split at sizes as a multipart version.
func multipartReplica(body []byte, sizes ...int) regionalclient.Replica {
	rep := regionalclient.Replica{Size: int64(len(body))}
	var sums []byte
	off := 0
	for i, n := range sizes {
		p := body[off : off+n]
		off += n
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
		rep.Parts = append(rep.Parts, metapb.PartInfo{Number: i + 1, Size: int64(n), ETag: hex.EncodeToString(s[:])})
	}
	all := md5.Sum(sums)
	rep.ETag = hex.EncodeToString(all[:]) + "-" + strconv.Itoa(len(sizes))
	return rep
}

func TestReplicaBodyVerifiesETag(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	other := append([]byte(nil), body...)
	other[40000] ^= 1
	single := regionalclient.Replica{Size: int64(len(body)), ETag: md5hex(body)}
	mp := multipartReplica(body, 30000, 30000, len(body)-60000)
	moved := multipartReplica(body, 30000, 30000, len(body)-60000)
	moved.Parts[0].Size, moved.Parts[1].Size = 29999, 30001 // same bytes, other boundaries
	for _, tc := range []struct {
		name string
		rep  regionalclient.Replica
		body []byte
		ok   bool
	}{
		{"single part", single, body, true},
		{"single part, changed byte", single, other, false},
		{"multipart", mp, body, true},
		{"multipart, changed byte", mp, other, false},
		{"multipart, moved boundary", moved, body, false},
		{"multipart, short body", mp, body[:len(body)-1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read: part boundaries fall inside reads and between them.
			rb := newReplicaBody(iotest.OneByteReader(bytes.NewReader(tc.body)), tc.rep)
			err := rb.finish()
			if tc.ok && err != nil {
				t.Fatalf("finish: %v", err)
			}
			if !tc.ok {
				var e *s3err.Error
				if err == nil || !(errors.As(err, &e) && (e.Code == s3err.BadDigest || e.Code == s3err.IncompleteBody)) {
					t.Fatalf("finish: %v, want BadDigest or IncompleteBody", err)
				}
			}
		})
	}
}
