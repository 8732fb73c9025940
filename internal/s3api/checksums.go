package s3api

import "encoding/xml"

// ChecksumElements are the Checksum<ALG> elements (and ChecksumType) S3
// writes in CompleteMultipartUploadResult, ListParts' Part,
// GetObjectAttributes' Checksum and its ObjectParts' Part. Embedded in a
// struct, its fields are elements of that struct.
type ChecksumElements struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

// ChecksumElementsOf fills the elements from a record's checksums
// ("CRC32" … → base64); ChecksumType is left to the caller.
func ChecksumElementsOf(cks map[string]string) ChecksumElements {
	return ChecksumElements{
		ChecksumCRC32: cks["CRC32"], ChecksumCRC32C: cks["CRC32C"], ChecksumCRC64NVME: cks["CRC64NVME"],
		ChecksumSHA1: cks["SHA1"], ChecksumSHA256: cks["SHA256"],
	}
}

// Checksums returns the checksums a CompleteMultipartUpload Part lists
// ("CRC32" … → base64), nil for none.
func (p CompletePart) Checksums() map[string]string {
	var out map[string]string
	for alg, v := range map[string]string{"CRC32": p.ChecksumCRC32, "CRC32C": p.ChecksumCRC32C,
		"CRC64NVME": p.ChecksumCRC64NVME, "SHA1": p.ChecksumSHA1, "SHA256": p.ChecksumSHA256} {
		if v != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[alg] = v
		}
	}
	return out
}

// GetObjectAttributesResponse answers GetObjectAttributes; only the
// attributes asked for (x-amz-object-attributes) are set.
type GetObjectAttributesResponse struct {
	XMLName      xml.Name          `xml:"GetObjectAttributesResponse"`
	XMLNS        string            `xml:"xmlns,attr"`
	ETag         string            `xml:"ETag,omitempty"`
	Checksum     *ChecksumElements `xml:"Checksum,omitempty"`
	ObjectParts  *ObjectParts      `xml:"ObjectParts,omitempty"`
	StorageClass string            `xml:"StorageClass,omitempty"`
	ObjectSize   *int64            `xml:"ObjectSize,omitempty"`
}

// ObjectParts is GetObjectAttributes' page of a multipart object's parts.
type ObjectParts struct {
	PartsCount           int          `xml:"PartsCount"`
	PartNumberMarker     int          `xml:"PartNumberMarker"`
	NextPartNumberMarker int          `xml:"NextPartNumberMarker"`
	MaxParts             int          `xml:"MaxParts"`
	IsTruncated          bool         `xml:"IsTruncated"`
	Parts                []ObjectPart `xml:"Part"`
}

// ObjectPart is one part in ObjectParts.
type ObjectPart struct {
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
	ChecksumElements
}
