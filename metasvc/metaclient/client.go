package metaclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json" // drop-in encoding/json, ≈2–3× faster on the meta RPC and Raft apply paths
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/internal/telemetry"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/partition"
)

// Config configures a Client.
type Config struct {
	// Seeds are meta node addresses (host:port); at least one.
	Seeds []string
	// Partitions is the region's partition count; 0 = ask the control plane in New.
	Partitions int
	// TLS is the caller's certificate, key and region CA: the client speaks
	// mutual TLS (HTTPS) to meta nodes and accepts only servers whose
	// certificate names the meta role. Meta nodes serve nothing else; nil
	// (plain HTTP) is only for fakes in tests.
	TLS *mtls.Node
	// HTTPClient, if nil, is a keep-alive client owned by the Client (over
	// TLS when TLS is set). A given HTTPClient must speak what TLS says.
	HTTPClient *http.Client
	// Logger (default: discard).
	Logger *slog.Logger
	// RequestTimeout bounds one attempt.
	RequestTimeout time.Duration
	// DiscoverTimeout bounds New's partition-count discovery.
	DiscoverTimeout time.Duration
	// MaxAttempts per call; 0 = retry until the context ends.
	MaxAttempts int
	// BackoffMin/BackoffMax bound the exponential, fully jittered backoff.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// TracerProvider receives a client span per RPC attempt (tracing.go);
	// nil: no tracing.
	TracerProvider trace.TracerProvider
}

// DefaultConfig returns a configuration with every tunable set; Seeds still needs values.
func DefaultConfig() Config {
	return Config{
		RequestTimeout:  5 * time.Second,
		DiscoverTimeout: 10 * time.Second,
		BackoffMin:      10 * time.Millisecond,
		BackoffMax:      500 * time.Millisecond,
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case len(c.Seeds) == 0:
		return fmt.Errorf("%w: no seeds", ErrConfig)
	case c.Partitions < 0:
		return fmt.Errorf("%w: negative partitions", ErrConfig)
	case c.MaxAttempts < 0:
		return fmt.Errorf("%w: negative MaxAttempts", ErrConfig)
	case c.BackoffMax < c.BackoffMin:
		return fmt.Errorf("%w: BackoffMax < BackoffMin", ErrConfig)
	}
	return nil
}

// Client talks to one region's metadata service. Safe for concurrent use.
type Client struct {
	cfg    Config
	scheme string // "https://" with TLS
	hc     *http.Client
	owned  *http.Transport
	log    *slog.Logger
	tr     trace.Tracer
	parts  int

	mu      sync.Mutex
	leaders map[string]string // group ("ctl", "p3") → leader address
	seed    int
}

// New returns a client. With cfg.Partitions == 0 it asks the control plane
// for the partition count (bounded by DiscoverTimeout).
func New(cfg Config) (*Client, error) {
	def := DefaultConfig()
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = def.RequestTimeout
	}
	if cfg.DiscoverTimeout <= 0 {
		cfg.DiscoverTimeout = def.DiscoverTimeout
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = def.BackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = def.BackoffMax
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, scheme: "http://", hc: cfg.HTTPClient, log: cfg.Logger, parts: cfg.Partitions, leaders: map[string]string{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.tr = telemetry.Provider(cfg.TracerProvider).Tracer(tracerName)
	if c.hc == nil {
		c.owned = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
		if cfg.TLS != nil {
			c.owned.DialTLSContext = cfg.TLS.Dialer(2*time.Second, []string{"http/1.1"}, mtls.RoleMeta)
		}
		c.hc = &http.Client{Transport: c.owned}
	}
	if cfg.TLS != nil {
		c.scheme = "https://"
	}
	c.seed = rand.IntN(len(cfg.Seeds))
	if c.parts == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.DiscoverTimeout)
		defer cancel()
		st, err := c.RegionStatus(ctx)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("metaclient: discover partitions: %w", err)
		}
		if len(st.Partitions) == 0 {
			c.Close()
			return nil, fmt.Errorf("%w: control plane reports no partitions", ErrUnavailable)
		}
		c.parts = len(st.Partitions)
	}
	return c, nil
}

// Close releases idle connections of a client-owned HTTP transport.
func (c *Client) Close() {
	if c.owned != nil {
		c.owned.CloseIdleConnections()
	}
}

// Partitions is the region's partition count.
func (c *Client) Partitions() int { return c.parts }

// PartitionOf returns the partition of (bucket, key).
func (c *Client) PartitionOf(bucket, key string) int { return partition.Of(bucket, key, c.parts) }

func groupOf(p int) string { return "p" + strconv.Itoa(p) }

func (c *Client) target(group string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.leaders[group]; ok {
		return a
	}
	return c.cfg.Seeds[c.seed%len(c.cfg.Seeds)]
}

func (c *Client) setLeader(group, addr string) {
	c.mu.Lock()
	c.leaders[group] = addr
	c.mu.Unlock()
}

// forget drops the cached leader of group if it is still addr and moves to the next seed.
func (c *Client) forget(group, addr string) {
	c.mu.Lock()
	if c.leaders[group] == addr {
		delete(c.leaders, group)
	}
	c.seed++
	c.mu.Unlock()
}

// errRetry marks an attempt failure worth retrying.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// call sends one RPC to group's leader, following redirects and retrying
// until success, a non-retryable answer, MaxAttempts, or ctx's end.
func (c *Client) call(ctx context.Context, group, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
	}
	var last error
	backoff := c.cfg.BackoffMin
	for attempt := 1; ; attempt++ {
		addr := c.target(group)
		sctx, span := c.startAttempt(ctx, group, path, addr, attempt)
		redirect, err := c.attempt(sctx, addr, method, path, body, out)
		endAttempt(span, err)
		if err == nil {
			c.setLeader(group, addr)
			return nil
		}
		var r errRetry
		if !errors.As(err, &r) {
			return err
		}
		last = err
		if redirect != "" {
			c.setLeader(group, redirect)
		} else {
			c.forget(group, addr)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %v (last: %v)", ErrUnavailable, ctx.Err(), last)
		}
		if c.cfg.MaxAttempts > 0 && attempt >= c.cfg.MaxAttempts {
			return fmt.Errorf("%w: %d attempts, last: %v", ErrUnavailable, attempt, last)
		}
		if redirect != "" && attempt == 1 {
			continue // follow a first redirect at once
		}
		sleep := time.Duration(rand.Int64N(int64(backoff) + 1))
		backoff = min(2*backoff, c.cfg.BackoffMax)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %v (last: %v)", ErrUnavailable, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// attempt does one request. It returns the redirect address on 421.
func (c *Client) attempt(ctx context.Context, addr, method, path string, body []byte, out any) (string, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, c.scheme+addr+path, rd)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	telemetry.Inject(actx, req.Header)
	resp, err := c.hc.Do(req)
	if err == nil {
		recordStatus(actx, resp.StatusCode)
	}
	if err != nil {
		return "", errRetry{fmt.Errorf("%s %s: %w", addr, path, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", errRetry{fmt.Errorf("%s %s: read: %w", addr, path, err)}
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if out == nil {
			return "", nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return "", errRetry{fmt.Errorf("%s %s: decode: %w", addr, path, err)}
		}
		return "", nil
	case resp.StatusCode == http.StatusNoContent:
		return "", nil
	}
	var re metapb.RPCError
	_ = json.Unmarshal(data, &re)
	switch resp.StatusCode {
	case http.StatusMisdirectedRequest:
		return re.LeaderAddr, errRetry{fmt.Errorf("%s %s: not leader (leader %q)", addr, path, re.LeaderAddr)}
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusInternalServerError:
		return "", errRetry{fmt.Errorf("%s %s: %d %s %s", addr, path, resp.StatusCode, re.Err, re.ErrMsg)}
	case http.StatusBadRequest:
		return "", &ResultError{Code: metapb.ErrBadRequest, Msg: re.ErrMsg}
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", fmt.Errorf("%w: %s %s: %d: %s", ErrForbidden, addr, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	return "", fmt.Errorf("metaclient: %s %s: unexpected status %d: %s", addr, path, resp.StatusCode, bytes.TrimSpace(data))
}

// ErrForbidden: the meta node refused the caller's certificate for this call
// (wrong role, another region, a heartbeat for another node). Not retried.
var ErrForbidden = errors.New("metaclient: forbidden")

// ---- writes ----

func (c *Client) apply(ctx context.Context, bucket, key string, cmd metapb.Command) (metapb.Result, error) {
	return c.applyTo(ctx, c.PartitionOf(bucket, key), cmd)
}

func (c *Client) applyTo(ctx context.Context, p int, cmd metapb.Command) (metapb.Result, error) {
	if p < 0 || p >= c.parts {
		return metapb.Result{}, fmt.Errorf("%w: partition %d of %d", ErrBadRequest, p, c.parts)
	}
	var res metapb.Result
	if err := c.call(ctx, groupOf(p), http.MethodPost, "/v1/p/"+strconv.Itoa(p)+"/apply", cmd, &res); err != nil {
		return metapb.Result{}, err
	}
	return res, resultErr(res.Err, res.ErrMsg)
}

// Prepare records v as PREPARING. Idempotent on v.Token.
func (c *Client) Prepare(ctx context.Context, v metapb.ObjectVersion) (metapb.Result, error) {
	return c.apply(ctx, v.Bucket, v.Key, metapb.Command{Type: metapb.CmdPrepare, Prepare: &metapb.PrepareRequest{Version: v}})
}

// Commit makes a version visible.
func (c *Client) Commit(ctx context.Context, r metapb.CommitRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdCommit, Commit: &r})
}

// Abort removes a PREPARING version.
func (c *Client) Abort(ctx context.Context, r metapb.AbortRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdAbort, Abort: &r})
}

// Delete removes the key's current version.
func (c *Client) Delete(ctx context.Context, bucket, key string) (metapb.Result, error) {
	return c.apply(ctx, bucket, key, metapb.Command{Type: metapb.CmdDelete, Delete: &metapb.DeleteRequest{Bucket: bucket, Key: key}})
}

// DeleteObject removes the key's current version, if r.IfMatch (when set)
// matches it: the condition is evaluated in the same Raft apply as the delete.
func (c *Client) DeleteObject(ctx context.Context, r metapb.DeleteRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdDelete, Delete: &r})
}

// SealBucket seals a bucket incarnation in one partition (ErrBucketNotEmpty
// if the partition holds an object of it); see metapb.SealBucketRequest.
func (c *Client) SealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdSealBucket, SealBucket: &metapb.SealBucketRequest{Bucket: bucket}})
}

// UnsealBucket lifts a seal that was not dropped.
func (c *Client) UnsealBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdUnsealBucket, UnsealBucket: &metapb.SealBucketRequest{Bucket: bucket}})
}

// DropBucket makes a seal a permanent tombstone and removes the
// incarnation's multipart uploads in one partition.
func (c *Client) DropBucket(ctx context.Context, partition int, bucket string) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdDropBucket, DropBucket: &metapb.SealBucketRequest{Bucket: bucket}})
}

// CreateUpload starts a multipart upload. Idempotent on u.Token.
func (c *Client) CreateUpload(ctx context.Context, u metapb.Upload) (metapb.Result, error) {
	return c.apply(ctx, u.Bucket, u.Key, metapb.Command{Type: metapb.CmdCreateUpload, CreateUpload: &metapb.CreateUploadRequest{Upload: u}})
}

// PreparePart records a part attempt as PREPARING.
func (c *Client) PreparePart(ctx context.Context, p metapb.Part) (metapb.Result, error) {
	return c.apply(ctx, p.Bucket, p.Key, metapb.Command{Type: metapb.CmdPreparePart, PreparePart: &metapb.PreparePartRequest{Part: p}})
}

// CommitPart commits a prepared part attempt.
func (c *Client) CommitPart(ctx context.Context, r metapb.CommitPartRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdCommitPart, CommitPart: &r})
}

// AbortPart removes a PREPARING part attempt.
func (c *Client) AbortPart(ctx context.Context, r metapb.AbortPartRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdAbortPart, AbortPart: &r})
}

// CompleteUpload turns an upload into a committed object version.
func (c *Client) CompleteUpload(ctx context.Context, r metapb.CompleteUploadRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdCompleteUpload, CompleteUpload: &r})
}

// AbortUpload removes an upload and its parts.
func (c *Client) AbortUpload(ctx context.Context, r metapb.AbortUploadRequest) (metapb.Result, error) {
	return c.apply(ctx, r.Bucket, r.Key, metapb.Command{Type: metapb.CmdAbortUpload, AbortUpload: &r})
}

// AckFeed records that consumer processed partition's feed up to seq.
func (c *Client) AckFeed(ctx context.Context, partition int, consumer string, seq uint64) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdAckFeed, AckFeed: &metapb.AckFeedRequest{Consumer: consumer, Seq: seq}})
}

// AckGarbage drops reclaimed garbage entries of partition.
func (c *Client) AckGarbage(ctx context.Context, partition int, ids []uint64) (metapb.Result, error) {
	return c.applyTo(ctx, partition, metapb.Command{Type: metapb.CmdAckGarbage, AckGarbage: &metapb.AckGarbageRequest{IDs: ids}})
}

// ---- reads ----

func (c *Client) read(ctx context.Context, p int, op string, q metapb.ReadRequest) (metapb.ReadResponse, error) {
	if p < 0 || p >= c.parts {
		return metapb.ReadResponse{}, fmt.Errorf("%w: partition %d of %d", ErrBadRequest, p, c.parts)
	}
	var resp metapb.ReadResponse
	if err := c.call(ctx, groupOf(p), http.MethodPost, "/v1/p/"+strconv.Itoa(p)+"/"+op, q, &resp); err != nil {
		return metapb.ReadResponse{}, err
	}
	return resp, resultErr(resp.Err, resp.ErrMsg)
}

// Get returns the current committed version of a key (ErrNotFound if none).
func (c *Client) Get(ctx context.Context, bucket, key string) (metapb.ObjectVersion, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "get", metapb.ReadRequest{Bucket: bucket, Key: key})
	if err != nil {
		return metapb.ObjectVersion{}, err
	}
	return deref(r.Version), nil
}

// GetVersion returns one version of a key in any state.
func (c *Client) GetVersion(ctx context.Context, bucket, key, versionID string) (metapb.ObjectVersion, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "version", metapb.ReadRequest{Bucket: bucket, Key: key, VersionID: versionID})
	if err != nil {
		return metapb.ObjectVersion{}, err
	}
	return deref(r.Version), nil
}

// GetUpload returns an in-progress upload (ErrNoSuchUpload if none).
func (c *Client) GetUpload(ctx context.Context, bucket, key, uploadID string) (metapb.Upload, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "upload", metapb.ReadRequest{Bucket: bucket, Key: key, UploadID: uploadID})
	if err != nil {
		return metapb.Upload{}, err
	}
	return deref(r.Upload), nil
}

// GetPart returns the committed part number of an upload.
func (c *Client) GetPart(ctx context.Context, bucket, key, uploadID string, number int) (metapb.Part, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "part", metapb.ReadRequest{Bucket: bucket, Key: key, UploadID: uploadID, Number: number})
	if err != nil {
		return metapb.Part{}, err
	}
	return deref(r.Part), nil
}

// GetPartAttempt returns one part attempt in any state.
func (c *Client) GetPartAttempt(ctx context.Context, bucket, key, uploadID string, number int, attempt string) (metapb.Part, error) {
	r, err := c.read(ctx, c.PartitionOf(bucket, key), "attempt", metapb.ReadRequest{Bucket: bucket, Key: key, UploadID: uploadID, Number: number, Attempt: attempt})
	if err != nil {
		return metapb.Part{}, err
	}
	return deref(r.Part), nil
}

// ListParts lists an upload's committed parts.
func (c *Client) ListParts(ctx context.Context, q metapb.ListPartsRequest) (metapb.ListPartsResponse, error) {
	r, err := c.read(ctx, c.PartitionOf(q.Bucket, q.Key), "parts", metapb.ReadRequest{ListParts: &q})
	if err != nil {
		return metapb.ListPartsResponse{}, err
	}
	return deref(r.Parts), nil
}

// ScanPreparing returns PREPARING versions of one partition prepared before olderThan.
func (c *Client) ScanPreparing(ctx context.Context, partition int, olderThan time.Time, max int) ([]metapb.ObjectVersion, error) {
	r, err := c.read(ctx, partition, "scan", metapb.ReadRequest{OlderThan: olderThan, Max: max})
	return r.Versions, err
}

// ScanPreparingParts returns PREPARING part attempts of one partition created before olderThan.
func (c *Client) ScanPreparingParts(ctx context.Context, partition int, olderThan time.Time, max int) ([]metapb.Part, error) {
	r, err := c.read(ctx, partition, "scanparts", metapb.ReadRequest{OlderThan: olderThan, Max: max})
	return r.PartList, err
}

// ScanUploads returns uploads of one partition initiated before olderThan.
func (c *Client) ScanUploads(ctx context.Context, partition int, olderThan time.Time, max int) ([]metapb.Upload, error) {
	r, err := c.read(ctx, partition, "scanuploads", metapb.ReadRequest{OlderThan: olderThan, Max: max})
	return r.UploadList, err
}

// ReadFeed returns up to max feed entries of partition after seq after.
func (c *Client) ReadFeed(ctx context.Context, partition int, after uint64, max int) ([]metapb.FeedEntry, error) {
	r, err := c.read(ctx, partition, "feed", metapb.ReadRequest{After: after, Max: max})
	return r.Feed, err
}

// ListGarbage returns up to max garbage entries of partition.
func (c *Client) ListGarbage(ctx context.Context, partition int, max int) ([]metapb.Garbage, error) {
	r, err := c.read(ctx, partition, "garbage", metapb.ReadRequest{Max: max})
	return r.Garbage, err
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// ---- control plane ----

// Heartbeat reports a storage node to the control plane (registering it if
// new or changed).
func (c *Client) Heartbeat(ctx context.Context, n metapb.StorageNode) error {
	return c.call(ctx, "ctl", http.MethodPost, "/v1/ctl/heartbeat", n, nil)
}

// StorageNodes returns the registered storage nodes with Healthy filled in.
func (c *Client) StorageNodes(ctx context.Context) ([]metapb.StorageNode, error) {
	var out []metapb.StorageNode
	err := c.call(ctx, "ctl", http.MethodGet, "/v1/ctl/nodes", nil, &out)
	return out, err
}

// RegionStatus returns the control plane's view of the region.
func (c *Client) RegionStatus(ctx context.Context) (metapb.RegionStatus, error) {
	var out metapb.RegionStatus
	err := c.call(ctx, "ctl", http.MethodGet, "/v1/ctl/status", nil, &out)
	return out, err
}

// DrainNode starts (on) or cancels the drain of storage node id (admin):
// ErrNotFound if the control plane does not know it.
func (c *Client) DrainNode(ctx context.Context, id string, on bool) error {
	var res metapb.Result
	if err := c.call(ctx, "ctl", http.MethodPost, "/v1/ctl/drain", metapb.DrainRequest{ID: id, On: on}, &res); err != nil {
		return err
	}
	return resultErr(res.Err, res.ErrMsg)
}

// RemoveNode removes storage node id from the control plane (admin). It is
// refused with ErrConflict unless the node has been draining for at least
// minDrained; the caller first checks that no record names a shard on it
// (NodeRefs over every partition).
func (c *Client) RemoveNode(ctx context.Context, id string, minDrained time.Duration) error {
	var res metapb.Result
	if err := c.call(ctx, "ctl", http.MethodPost, "/v1/ctl/remove", metapb.RemoveNodeRequest{ID: id, MinDrained: minDrained}, &res); err != nil {
		return err
	}
	return resultErr(res.Err, res.ErrMsg)
}
