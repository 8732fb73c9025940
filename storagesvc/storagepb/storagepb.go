// Package storagepb holds the wire types of the storage node's API. It has no
// logic. The storage node (storagesvc) serves them; callers use storageclient.
//
// HTTP/1.1 over TCP inside a region (see docs/design.md: QUIC only across the WAN):
//
//	PUT    /v1/shards/{id}                 body = shard bytes (Content-Length required);
//	                                       header X-Meridian-Crc32c (optional, 8 hex digits of
//	                                       CRC-32C of the whole body, checked before ack).
//	                                       201 + ShardInfo JSON once durable (fsync'd).
//	GET    /v1/shards/{id}?offset=&length= 200 + bytes (every block checksum verified first);
//	                                       header X-Meridian-Shard-Size.
//	HEAD   /v1/shards/{id}                 200 + X-Meridian-Shard-Size, X-Meridian-Crc32c.
//	DELETE /v1/shards/{id}                 204 (also when absent: idempotent).
//	GET    /v1/shards?prefix=&after=&limit= 200 + ListResponse JSON, ordered by id.
//	POST   /v1/shards/{id}/verify          200 + VerifyResult JSON (reads and checks every block).
//	GET    /v1/status                      200 + NodeStatus JSON.
//	GET    /healthz, /readyz               200 when live / ready.
//
// Errors are ErrorResponse JSON with the status below.
package storagepb

import "time"

// Header names.
const (
	HeaderCRC32C    = "X-Meridian-Crc32c"
	HeaderShardSize = "X-Meridian-Shard-Size"
)

// Error codes (ErrorResponse.Code) and their HTTP statuses.
const (
	CodeNotFound   = "NotFound"   // 404
	CodeCorrupt    = "Corrupt"    // 422: stored bytes fail their checksum; never served
	CodeBadRequest = "BadRequest" // 400: bad id, bad range, missing length
	CodeChecksum   = "Checksum"   // 400: body does not match X-Meridian-Crc32c
	CodeNoSpace    = "NoSpace"    // 507
	CodeInternal   = "Internal"   // 500
)

// MaxShardIDLen bounds shard ids; ids match [A-Za-z0-9._-]{1,MaxShardIDLen}.
const MaxShardIDLen = 200

// ShardInfo describes one stored shard.
type ShardInfo struct {
	ID     string `json:"id"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"` // CRC-32C (Castagnoli) of the whole shard
	// AgeNanos (list answers only) is a lower bound on how long the shard
	// has been stored, by the node's monotonic clock: since its PUT was
	// acknowledged, or since the node started for shards it recovered. No
	// cross-machine clock is involved (docs/gc-safety.md).
	AgeNanos int64 `json:"age_ns,omitempty"`
}

// ListResponse answers GET /v1/shards.
type ListResponse struct {
	Shards    []ShardInfo `json:"shards"`
	Truncated bool        `json:"truncated"`
}

// VerifyResult answers POST /v1/shards/{id}/verify.
type VerifyResult struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// NodeStatus answers GET /v1/status.
type NodeStatus struct {
	NodeID        string    `json:"node_id"`
	AZ            string    `json:"az"`
	Addr          string    `json:"addr"`
	CapacityBytes int64     `json:"capacity_bytes"`
	UsedBytes     int64     `json:"used_bytes"` // bytes of all volume files
	LiveBytes     int64     `json:"live_bytes"` // bytes of live shard records
	DeadBytes     int64     `json:"dead_bytes"` // bytes compaction can give back
	Shards        int64     `json:"shards"`
	Started       time.Time `json:"started"`
}

// ErrorResponse is the body of every non-2xx answer.
type ErrorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
