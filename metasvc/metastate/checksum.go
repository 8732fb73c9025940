package metastate

import (
	"fmt"

	"github.com/meridian-s3/meridian/internal/s3checksum"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// multipartChecksum computes a completed upload's checksum from its listed
// parts, in the apply (deterministic: parts' stored checksums and sizes
// only):
//
//   - the upload's algorithm (CreateMultipartUpload's
//     x-amz-checksum-algorithm) with its type: COMPOSITE (default for
//     CRC32, CRC32C, SHA1, SHA256) or FULL_OBJECT (CRC64NVME's only type;
//     allowed for CRC32 and CRC32C). Every listed part must carry it (the
//     gateway computes it for parts whose request did not).
//   - no algorithm: CRC64NVME FULL_OBJECT when every listed part has a
//     CRC64NVME (S3's default checksum), else none.
//
// A checksum listed for a part in the request must equal the stored one
// (ErrInvalidPart, as S3), and a full-object checksum the client claims
// (x-amz-checksum-<alg> on Complete) must equal the computed one
// (ErrBadDigest).
func multipartChecksum(u *metapb.Upload, r *metapb.CompleteUploadRequest, listed []*metapb.Part) (cks map[string]string, typ, code, msg string) {
	for i, cp := range r.Parts {
		for alg, val := range cp.Checksums {
			if listed[i].Checksums[alg] != val {
				return nil, "", metapb.ErrInvalidPart, fmt.Sprintf("complete upload: part %d: the %s checksum listed does not match the part's", cp.Number, alg)
			}
		}
	}
	alg := s3checksum.Algorithm(u.Checksum)
	typ = u.ChecksumType
	if alg == "" {
		alg = s3checksum.CRC64NVME
		for _, p := range listed {
			if p.Checksums[string(alg)] == "" {
				alg = ""
				break
			}
		}
		if alg == "" {
			if len(r.Checksums) > 0 {
				return nil, "", metapb.ErrBadRequest, "complete upload: a full-object checksum was given for an upload created without a checksum algorithm"
			}
			return nil, "", "", ""
		}
		typ = metapb.ChecksumFullObject
	}
	if !alg.Valid() {
		return nil, "", metapb.ErrBadRequest, fmt.Sprintf("complete upload: unknown checksum algorithm %q", alg)
	}
	if typ == "" {
		typ = metapb.ChecksumComposite
		if !alg.SupportsComposite() {
			typ = metapb.ChecksumFullObject
		}
	}
	var val string
	var err error
	switch typ {
	case metapb.ChecksumComposite:
		vals := make([]string, len(listed))
		for i, p := range listed {
			if vals[i] = p.Checksums[string(alg)]; vals[i] == "" {
				return nil, "", metapb.ErrBadRequest, fmt.Sprintf("complete upload: part %d has no %s checksum", p.Number, alg)
			}
		}
		val, err = s3checksum.Composite(alg, vals)
	case metapb.ChecksumFullObject:
		parts := make([]s3checksum.Part, len(listed))
		for i, p := range listed {
			if parts[i].Checksum = p.Checksums[string(alg)]; parts[i].Checksum == "" {
				return nil, "", metapb.ErrBadRequest, fmt.Sprintf("complete upload: part %d has no %s checksum", p.Number, alg)
			}
			parts[i].Size = p.Size
		}
		val, err = s3checksum.FullObject(alg, parts)
	default:
		return nil, "", metapb.ErrBadRequest, fmt.Sprintf("complete upload: unknown checksum type %q", typ)
	}
	if err != nil {
		return nil, "", metapb.ErrBadRequest, "complete upload: " + err.Error()
	}
	for a, claimed := range r.Checksums {
		if a != string(alg) || claimed != val {
			return nil, "", metapb.ErrBadDigest, fmt.Sprintf("complete upload: the %s checksum given does not match the %s %s checksum computed from the parts", a, typ, alg)
		}
	}
	return map[string]string{string(alg): val}, typ, "", ""
}
