// Package partition maps an object key to its metadata partition.
//
// A region has a fixed number of partitions, set when the region is created.
// partition = FNV-1a-64(bucket + "\x00" + key) mod n. Uploads and parts hash
// by the same (bucket, key) so an upload, its parts and the object it becomes
// live in one partition, and CompleteMultipartUpload is one Raft command.
package partition

import "hash/fnv"

// Of returns the partition of (bucket, key) among n partitions.
func Of(bucket, key string, n int) int {
	if n <= 0 {
		panic("partition: n must be positive")
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(bucket))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}
