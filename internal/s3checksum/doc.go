// Package s3checksum computes the S3 "additional checksums" (CRC32,
// CRC32C, CRC64NVME, SHA1, SHA256) while data streams past.
//
// S3 transmits each checksum as the standard base64 encoding of the
// big-endian digest, in a header or trailer named x-amz-checksum-<alg>
// (lower case). CRC64NVME is the CRC-64/NVME of the NVM Express NVM
// Command Set: polynomial 0xAD93D23594C93659 (reflected
// 0x9A6C9329AC4BC9B5), init and xorout all ones, reflected in and out;
// its catalogue check value for "123456789" is 0xAE8B14860A799888.
//
// A MultiHasher computes several algorithms in one pass; it is what the
// SigV4 body verifier and the gateways use to hash an object once.
package s3checksum
