package s3api

import (
	"testing"

	"github.com/meridian-s3/meridian/internal/s3err"
)

func TestParseBucketEncryption(t *testing.T) {
	const ns = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
	tests := []struct {
		name, body string
		want       BucketEncryption
		code       s3err.Code
	}{
		{"AES256", `<ServerSideEncryptionConfiguration ` + ns + `><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
			BucketEncryption{Algorithm: "AES256"}, ""},
		{"KMS with key and bucket key", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k1</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
			BucketEncryption{Algorithm: "aws:kms", KMSKeyID: "k1", BucketKey: true}, ""},
		{"no rule", `<ServerSideEncryptionConfiguration></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.MalformedXML},
		{"two rules", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.MalformedXML},
		{"no default", `<ServerSideEncryptionConfiguration><Rule><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.MalformedXML},
		{"unknown algorithm", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES128</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.MalformedXML},
		{"KMS key with AES256", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.InvalidArgument},
		{"unknown element", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><Extra/></Rule></ServerSideEncryptionConfiguration>`, BucketEncryption{}, s3err.MalformedXML},
		{"wrong root", `<Foo/>`, BucketEncryption{}, s3err.MalformedXML},
		{"not XML", `AES256`, BucketEncryption{}, s3err.MalformedXML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBucketEncryption([]byte(tc.body))
			if tc.code != "" {
				if err == nil || s3err.As(err).Code != tc.code {
					t.Fatalf("err %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}
