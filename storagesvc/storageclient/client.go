// Package storageclient is the client of the storage node's HTTP API
// (storagepb). One Client serves many nodes; every method takes the node's
// host:port. Connections are pooled and kept alive.
package storageclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/meridian-s3/meridian/internal/connbuf"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

// Sentinel errors; *Error values match them with errors.Is.
var (
	ErrNotFound   = errors.New("storageclient: shard not found")
	ErrCorrupt    = errors.New("storageclient: shard corrupt on the node")
	ErrChecksum   = errors.New("storageclient: body did not match its CRC-32C")
	ErrNoSpace    = errors.New("storageclient: node out of space")
	ErrBadRequest = errors.New("storageclient: bad request")
	// ErrTruncated: a GET body ended early. The node aborts a response when
	// a later block fails its checksum, or the connection broke.
	ErrTruncated = errors.New("storageclient: response body truncated")
)

// Error is a non-2xx answer from a node.
type Error struct {
	Addr    string
	Op      string
	Status  int
	Code    string // storagepb.Code*
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("storageclient: %s %s: %d %s: %s", e.Op, e.Addr, e.Status, e.Code, e.Message)
}

// Is maps wire codes to the package sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == storagepb.CodeNotFound
	case ErrCorrupt:
		return e.Code == storagepb.CodeCorrupt
	case ErrChecksum:
		return e.Code == storagepb.CodeChecksum
	case ErrNoSpace:
		return e.Code == storagepb.CodeNoSpace
	case ErrBadRequest:
		return e.Code == storagepb.CodeBadRequest
	}
	return false
}

// Client talks to storage nodes. It is safe for concurrent use.
type Client struct {
	hc     *http.Client
	scheme string // "http://" or "https://"
}

// NewTransport returns the pooled keep-alive transport New uses: sized for
// many parallel requests to a few dozen nodes.
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   64, // idle connections keep their buffers: bounded per node
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 0,
		DisableCompression:    true,
		WriteBufferSize:       32 << 10, // per connection: with 14 shard streams per
		ReadBufferSize:        32 << 10, // request, 64 requests hold ~900 connections
	}
}

// New returns a plain-HTTP Client using httpClient, or, when nil, a client
// over NewTransport with no overall timeout (use contexts). Real storage
// nodes accept only mutual TLS: use NewTLS; New is for fakes in tests.
func New(httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Transport: NewTransport()}
	}
	return &Client{hc: httpClient, scheme: "http://"}
}

// NewTLS returns a Client that speaks mutual TLS as node (storage nodes
// serve nothing else) over NewTransport, accepting only servers whose
// certificate names the storage role. Connections are kept alive and TLS
// sessions resumed per node; TLS records are written and read in large
// batches (internal/connbuf: shard bodies are bulk data).
func NewTLS(node *mtls.Node) *Client {
	tr := NewTransport()
	tr.DialTLSContext = node.BufferedDialer(connbuf.MustPool(connbuf.DefaultOptions()), 5*time.Second, []string{"http/1.1"}, mtls.RoleStorage)
	return &Client{hc: &http.Client{Transport: tr}, scheme: "https://"}
}

func (c *Client) shardURL(addr, id, suffix string) string {
	return c.scheme + addr + "/v1/shards/" + url.PathEscape(id) + suffix
}

func (c *Client) do(ctx context.Context, op, method, u string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("storageclient: %s: %w", op, err)
	}
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("storageclient: %s %s: %w", op, req.URL.Host, err)
	}
	if resp.StatusCode/100 != 2 {
		defer drainClose(resp.Body)
		e := &Error{Addr: req.URL.Host, Op: op, Status: resp.StatusCode}
		var er storagepb.ErrorResponse
		if method != http.MethodHead && json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&er) == nil {
			e.Code, e.Message = er.Code, er.Message
		}
		if e.Code == "" {
			e.Code = codeForStatus(resp.StatusCode)
			e.Message = http.StatusText(resp.StatusCode)
		}
		return nil, e
	}
	return resp, nil
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return storagepb.CodeNotFound
	case http.StatusUnprocessableEntity:
		return storagepb.CodeCorrupt
	case http.StatusBadRequest:
		return storagepb.CodeBadRequest
	case http.StatusInsufficientStorage:
		return storagepb.CodeNoSpace
	default:
		return storagepb.CodeInternal
	}
}

// drainClose reads a little of what is left so the connection can be reused.
func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 256<<10))
	_ = rc.Close()
}

func decodeJSON(op string, resp *http.Response, v any) error {
	defer drainClose(resp.Body)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("storageclient: %s: decode: %w", op, err)
	}
	return nil
}

// Put stores size bytes of body as shard id on addr. The node checks the
// body against crc32c (CRC-32C, Castagnoli) and answers once durable.
// crc32c 0 means "not known in advance" (a streamed shard): no check is
// requested, and the caller compares the returned ShardInfo.CRC32C instead.
func (c *Client) Put(ctx context.Context, addr, id string, body io.Reader, size int64, crc32c uint32) (storagepb.ShardInfo, error) {
	if body == nil {
		body = http.NoBody
	}
	hdr := http.Header{}
	if crc32c != 0 {
		hdr.Set(storagepb.HeaderCRC32C, fmt.Sprintf("%08x", crc32c))
	}
	resp, err := c.do(ctx, "put", http.MethodPut, c.shardURL(addr, id, ""), body, size, hdr)
	if err != nil {
		return storagepb.ShardInfo{}, err
	}
	var info storagepb.ShardInfo
	return info, decodeJSON("put", resp, &info)
}

// Get streams [off, off+length) of shard id (length -1: to the end). The
// reader returns ErrTruncated if the body ends early.
func (c *Client) Get(ctx context.Context, addr, id string, off, length int64) (io.ReadCloser, error) {
	q := url.Values{}
	if off != 0 {
		q.Set("offset", strconv.FormatInt(off, 10))
	}
	if length >= 0 {
		q.Set("length", strconv.FormatInt(length, 10))
	}
	u := c.shardURL(addr, id, "")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := c.do(ctx, "get", http.MethodGet, u, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	return &bodyReader{rc: resp.Body, left: resp.ContentLength}, nil
}

type bodyReader struct {
	rc   io.ReadCloser
	left int64 // -1 if unknown
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.left >= 0 {
		b.left -= int64(n)
	}
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF) && b.left <= 0:
		return n, io.EOF
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("%w: %d bytes missing", ErrTruncated, b.left)
	default:
		return n, err
	}
}

func (b *bodyReader) Close() error {
	if b.left == 0 {
		drainClose(b.rc)
		return nil
	}
	return b.rc.Close()
}

// Stat describes shard id on addr.
func (c *Client) Stat(ctx context.Context, addr, id string) (storagepb.ShardInfo, error) {
	resp, err := c.do(ctx, "stat", http.MethodHead, c.shardURL(addr, id, ""), nil, 0, nil)
	if err != nil {
		return storagepb.ShardInfo{}, err
	}
	drainClose(resp.Body)
	size, err1 := strconv.ParseInt(resp.Header.Get(storagepb.HeaderShardSize), 10, 64)
	crc, err2 := strconv.ParseUint(resp.Header.Get(storagepb.HeaderCRC32C), 16, 32)
	if err := errors.Join(err1, err2); err != nil {
		return storagepb.ShardInfo{}, fmt.Errorf("storageclient: stat: bad headers: %w", err)
	}
	return storagepb.ShardInfo{ID: id, Size: size, CRC32C: uint32(crc)}, nil
}

// Delete removes shard id on addr; deleting an absent shard succeeds.
func (c *Client) Delete(ctx context.Context, addr, id string) error {
	resp, err := c.do(ctx, "delete", http.MethodDelete, c.shardURL(addr, id, ""), nil, 0, nil)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// List returns up to limit shards (0: the node's default) with ids starting
// with prefix and sorting after after.
func (c *Client) List(ctx context.Context, addr, prefix, after string, limit int) (storagepb.ListResponse, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	u := c.scheme + addr + "/v1/shards"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	resp, err := c.do(ctx, "list", http.MethodGet, u, nil, 0, nil)
	if err != nil {
		return storagepb.ListResponse{}, err
	}
	var lr storagepb.ListResponse
	return lr, decodeJSON("list", resp, &lr)
}

// Verify has the node read and check every block of shard id. A corrupt
// shard is a result (OK false), not an error.
func (c *Client) Verify(ctx context.Context, addr, id string) (storagepb.VerifyResult, error) {
	resp, err := c.do(ctx, "verify", http.MethodPost, c.shardURL(addr, id, "/verify"), nil, 0, nil)
	if err != nil {
		return storagepb.VerifyResult{}, err
	}
	var vr storagepb.VerifyResult
	return vr, decodeJSON("verify", resp, &vr)
}

// Status returns the node's status.
func (c *Client) Status(ctx context.Context, addr string) (storagepb.NodeStatus, error) {
	resp, err := c.do(ctx, "status", http.MethodGet, c.scheme+addr+"/v1/status", nil, 0, nil)
	if err != nil {
		return storagepb.NodeStatus{}, err
	}
	var st storagepb.NodeStatus
	return st, decodeJSON("status", resp, &st)
}
