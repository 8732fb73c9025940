package storagesvc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/meridian-s3/meridian/storagesvc/shardstore"
	"github.com/meridian-s3/meridian/storagesvc/storagepb"
)

const maxListLimit = 10000

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorStatus maps a store error to its wire code and HTTP status.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, shardstore.ErrNotFound):
		return http.StatusNotFound, storagepb.CodeNotFound
	case errors.Is(err, shardstore.ErrCorrupt):
		return http.StatusUnprocessableEntity, storagepb.CodeCorrupt
	case errors.Is(err, shardstore.ErrChecksum):
		return http.StatusBadRequest, storagepb.CodeChecksum
	case errors.Is(err, shardstore.ErrBadID), errors.Is(err, shardstore.ErrBadRange), errors.Is(err, shardstore.ErrShortBody):
		return http.StatusBadRequest, storagepb.CodeBadRequest
	case errors.Is(err, shardstore.ErrNoSpace):
		return http.StatusInsufficientStorage, storagepb.CodeNoSpace
	default:
		return http.StatusInternalServerError, storagepb.CodeInternal
	}
}

// observe records one request's outcome.
func (s *Server) observe(op string, start time.Time, status int) {
	s.metrics.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	s.metrics.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, op string, start time.Time, err error) {
	status, code := errorStatus(err)
	if code == storagepb.CodeCorrupt {
		s.metrics.corrupt.Inc()
		s.log.ErrorContext(r.Context(), "corrupt shard", "op", op, "err", err)
	} else if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "op", op, "err", err)
	}
	writeJSON(w, status, storagepb.ErrorResponse{Code: code, Message: err.Error()})
	s.observe(op, start, status)
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{shardstore.ErrBadRange}, args...)...)
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.PathValue("id")
	if r.ContentLength < 0 {
		s.fail(w, r, "put", start, badRequest("Content-Length required"))
		return
	}
	var opts shardstore.PutOptions
	if h := r.Header.Get(storagepb.HeaderCRC32C); h != "" {
		v, err := strconv.ParseUint(h, 16, 32)
		if err != nil || len(h) != 8 {
			s.fail(w, r, "put", start, badRequest("%s must be 8 hex digits", storagepb.HeaderCRC32C))
			return
		}
		opts = shardstore.PutOptions{VerifyCRC: true, CRC32C: uint32(v)}
	}
	info, err := s.store.Put(r.Context(), id, r.Body, r.ContentLength, opts)
	if err != nil {
		s.fail(w, r, "put", start, err)
		return
	}
	s.metrics.bytesIn.Add(float64(info.Size))
	writeJSON(w, http.StatusCreated, storagepb.ShardInfo{ID: info.ID, Size: info.Size, CRC32C: info.CRC32C})
	s.observe("put", start, http.StatusCreated)
}

func setShardHeaders(w http.ResponseWriter, info shardstore.Info) {
	w.Header().Set(storagepb.HeaderShardSize, strconv.FormatInt(info.Size, 10))
	w.Header().Set(storagepb.HeaderCRC32C, fmt.Sprintf("%08x", info.CRC32C))
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.PathValue("id")
	if r.Method == http.MethodHead {
		info, err := s.store.Stat(id)
		if err != nil {
			status, _ := errorStatus(err)
			w.WriteHeader(status)
			s.observe("head", start, status)
			return
		}
		setShardHeaders(w, info)
		w.WriteHeader(http.StatusOK)
		s.observe("head", start, http.StatusOK)
		return
	}
	q := r.URL.Query()
	off, length := int64(0), int64(-1)
	var err error
	if v := q.Get("offset"); v != "" {
		if off, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.fail(w, r, "get", start, badRequest("offset %q", v))
			return
		}
	}
	if v := q.Get("length"); v != "" {
		if length, err = strconv.ParseInt(v, 10, 64); err != nil || length < -1 {
			s.fail(w, r, "get", start, badRequest("length %q", v))
			return
		}
	}
	rd, err := s.store.Open(id, off, length)
	if err != nil {
		s.fail(w, r, "get", start, err)
		return
	}
	defer rd.Close()
	n := rd.Len()
	// Verify the first block group before committing to a status.
	first, err := rd.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		s.fail(w, r, "get", start, err)
		return
	}
	setShardHeaders(w, rd.Info())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(http.StatusOK)
	chunk := first
	for len(chunk) > 0 {
		if _, werr := w.Write(chunk); werr != nil {
			s.observe("get", start, 499) // client went away
			return
		}
		s.metrics.bytesOut.Add(float64(len(chunk)))
		chunk, err = rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Bytes already sent are good; abort so the client sees a
			// truncated body instead of bad bytes.
			status, _ := errorStatus(err)
			if status == http.StatusUnprocessableEntity {
				s.metrics.corrupt.Inc()
			}
			s.log.ErrorContext(r.Context(), "read failed mid-stream; aborting response", "id", id, "err", err)
			s.observe("get", start, status)
			panic(http.ErrAbortHandler)
		}
	}
	s.observe("get", start, http.StatusOK)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := s.store.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.fail(w, r, "delete", start, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	s.observe("delete", start, http.StatusNoContent)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.fail(w, r, "list", start, badRequest("limit must be 1..%d", maxListLimit))
			return
		}
		limit = n
	}
	got, more := s.store.List(q.Get("prefix"), q.Get("after"), limit)
	resp := storagepb.ListResponse{Shards: make([]storagepb.ShardInfo, len(got)), Truncated: more}
	for i, in := range got {
		resp.Shards[i] = storagepb.ShardInfo{ID: in.ID, Size: in.Size, CRC32C: in.CRC32C, AgeNanos: in.Age.Nanoseconds()}
	}
	writeJSON(w, http.StatusOK, resp)
	s.observe("list", start, http.StatusOK)
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.PathValue("id")
	err := s.store.Verify(id)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, storagepb.VerifyResult{ID: id, OK: true})
	case errors.Is(err, shardstore.ErrCorrupt):
		s.metrics.corrupt.Inc()
		s.log.ErrorContext(r.Context(), "verify found corruption", "id", id, "err", err)
		writeJSON(w, http.StatusOK, storagepb.VerifyResult{ID: id, OK: false, Error: err.Error()})
	default:
		s.fail(w, r, "verify", start, err)
		return
	}
	s.observe("verify", start, http.StatusOK)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st := s.store.Stats()
	writeJSON(w, http.StatusOK, storagepb.NodeStatus{
		NodeID:        s.cfg.NodeID,
		AZ:            s.cfg.AZ,
		Addr:          s.cfg.Advertise,
		CapacityBytes: s.capacity,
		UsedBytes:     st.UsedBytes,
		LiveBytes:     st.LiveBytes,
		DeadBytes:     st.DeadBytes,
		Shards:        st.Shards,
		Started:       s.started,
	})
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	select {
	case <-s.ready:
		if !s.draining.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
	default:
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}
