package metasvc

import (
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json" // drop-in encoding/json, ≈2–3× faster on the meta RPC and Raft apply paths
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/controlplane"
	"github.com/meridian-s3/meridian/metasvc/metapb"
	"github.com/meridian-s3/meridian/metasvc/metastate"
	"github.com/meridian-s3/meridian/metasvc/partition"
)

// Access is who may call each RPC route (docs/security.md); Raft is meta
// nodes only (server.go). A route missing here is not served.
var Access = map[string][]mtls.Role{
	"POST /v1/p/{n}/apply":   {mtls.RoleGateway, mtls.RoleBackground},
	"POST /v1/p/{n}/{op}":    {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin},
	"POST /v1/ctl/heartbeat": {mtls.RoleStorage}, // and only for the node the certificate names
	"GET /v1/ctl/status":     {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin, mtls.RoleStorage, mtls.RoleMeta},
	"GET /v1/ctl/nodes":      {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin},
	"POST /v1/ctl/drain":     {mtls.RoleAdmin},
	"POST /v1/ctl/remove":    {mtls.RoleAdmin},
	"GET /healthz":           {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin, mtls.RoleStorage, mtls.RoleMeta},
	"GET /readyz":            {mtls.RoleGateway, mtls.RoleBackground, mtls.RoleAdmin, mtls.RoleStorage, mtls.RoleMeta},
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, mtls.Allow(mtls.Policy{Region: s.cfg.Region, Roles: Access[pattern]}, h))
	}
	handle("POST /v1/p/{n}/apply", s.handleApply)
	handle("POST /v1/p/{n}/{op}", s.handleRead)
	handle("POST /v1/ctl/heartbeat", s.handleHeartbeat)
	handle("GET /v1/ctl/status", s.handleStatus)
	handle("GET /v1/ctl/nodes", s.handleNodes)
	handle("POST /v1/ctl/drain", s.handleDrain)
	handle("POST /v1/ctl/remove", s.handleRemove)
	handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if s.closing.Load() {
			http.Error(w, "closing", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	handle("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return s.traced(mux) // tracing.go
}

// observe records one RPC's outcome.
func (s *Server) observe(op string, code int, start time.Time) {
	s.metrics.rpcs.WithLabelValues(op, strconv.Itoa(code)).Inc()
	s.metrics.rpcSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// writeRaftErr answers an error from Raft or the read gate: 421 with the
// leader when this node is not the leader, 503 when the outcome is unknown or
// the group cannot serve.
func (s *Server) writeRaftErr(w http.ResponseWriter, g *group, err error) int {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, ErrNotLeader) {
		addr, id := g.raft.LeaderWithID()
		if addr != "" && string(addr) != s.advertise {
			writeJSON(w, http.StatusMisdirectedRequest, metapb.RPCError{
				Err: metapb.ErrNotLeader, ErrMsg: "not the leader of " + g.name,
				LeaderID: string(id), LeaderAddr: string(addr),
			})
			return http.StatusMisdirectedRequest
		}
		writeJSON(w, http.StatusServiceUnavailable, metapb.RPCError{Err: metapb.ErrUnavailable, ErrMsg: "no leader known for " + g.name})
		return http.StatusServiceUnavailable
	}
	writeJSON(w, http.StatusServiceUnavailable, metapb.RPCError{Err: metapb.ErrUnavailable, ErrMsg: err.Error()})
	return http.StatusServiceUnavailable
}

func badRequest(w http.ResponseWriter, msg string) int {
	writeJSON(w, http.StatusBadRequest, metapb.RPCError{Err: metapb.ErrBadRequest, ErrMsg: msg})
	return http.StatusBadRequest
}

func (s *Server) partitionOf(r *http.Request) (*group, error) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(s.parts) {
		return nil, fmt.Errorf("no partition %q", r.PathValue("n"))
	}
	return s.parts[n], nil
}

func (s *Server) unavailable(w http.ResponseWriter) int {
	writeJSON(w, http.StatusServiceUnavailable, metapb.RPCError{Err: metapb.ErrUnavailable, ErrMsg: "node is not serving"})
	return http.StatusServiceUnavailable
}

// commandKey returns the (bucket, key) a command addresses, if any.
func commandKey(c *metapb.Command) (bucket, key string, ok bool) {
	switch {
	case c.Prepare != nil:
		return c.Prepare.Version.Bucket, c.Prepare.Version.Key, true
	case c.Commit != nil:
		return c.Commit.Bucket, c.Commit.Key, true
	case c.Abort != nil:
		return c.Abort.Bucket, c.Abort.Key, true
	case c.Delete != nil:
		return c.Delete.Bucket, c.Delete.Key, true
	case c.CreateUpload != nil:
		return c.CreateUpload.Upload.Bucket, c.CreateUpload.Upload.Key, true
	case c.PreparePart != nil:
		return c.PreparePart.Part.Bucket, c.PreparePart.Part.Key, true
	case c.CommitPart != nil:
		return c.CommitPart.Bucket, c.CommitPart.Key, true
	case c.AbortPart != nil:
		return c.AbortPart.Bucket, c.AbortPart.Key, true
	case c.CompleteUpload != nil:
		return c.CompleteUpload.Bucket, c.CompleteUpload.Key, true
	case c.AbortUpload != nil:
		return c.AbortUpload.Bucket, c.AbortUpload.Key, true
	case c.ReplaceShards != nil:
		return c.ReplaceShards.Bucket, c.ReplaceShards.Key, true
	case c.Suspect != nil && len(c.Suspect.Add) > 0:
		return c.Suspect.Add[0].Bucket, c.Suspect.Add[0].Key, true
	case c.PutTags != nil:
		return c.PutTags.Bucket, c.PutTags.Key, true
	case c.PutACL != nil:
		return c.PutACL.Bucket, c.PutACL.Key, true
	case c.PutLock != nil:
		return c.PutLock.Bucket, c.PutLock.Key, true
	}
	return "", "", false
}

func (s *Server) handleApply(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.serveApply(w, r)
	s.observe("apply", code, start)
}

func (s *Server) serveApply(w http.ResponseWriter, r *http.Request) int {
	if s.closing.Load() || !s.started.Load() {
		return s.unavailable(w)
	}
	g, err := s.partitionOf(r)
	if err != nil {
		return badRequest(w, err.Error())
	}
	var cmd metapb.Command
	if err := s.decode(w, r, &cmd); err != nil {
		return badRequest(w, "bad command: "+err.Error())
	}
	if cmd.Type < metapb.CmdPrepare || cmd.Type >= metapb.CmdLimit {
		return badRequest(w, fmt.Sprintf("unknown command type %d", cmd.Type))
	}
	if b, k, ok := commandKey(&cmd); ok && partition.Of(b, k, len(s.parts)) != g.part {
		return badRequest(w, fmt.Sprintf("%v: %q/%q is in partition %d, not %d", ErrWrongPartition, b, k, partition.Of(b, k, len(s.parts)), g.part))
	}
	if g.raft.State() != raft.Leader {
		return s.writeRaftErr(w, g, raft.ErrNotLeader)
	}
	cmd.Time = time.Now()
	cmd.Region = s.cfg.Region // part of the version ids the command assigns
	data, err := json.Marshal(&cmd)
	if err != nil {
		return badRequest(w, err.Error())
	}
	_, span := startApplyWait(r.Context(), g)
	f := g.raft.Apply(data, s.cfg.ApplyTimeout)
	err = f.Error()
	endApplyWait(span, err)
	if err != nil {
		// ErrLeadershipLost: the entry may or may not commit; the client
		// retries and the command's idempotency makes that safe.
		return s.writeRaftErr(w, g, err)
	}
	s.metrics.raftApply.WithLabelValues(g.name).Observe(time.Since(cmd.Time).Seconds())
	res, ok := f.Response().(metapb.Result)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, metapb.RPCError{Err: metapb.ErrUnavailable, ErrMsg: fmt.Sprintf("unexpected apply response %T", f.Response())})
		return http.StatusInternalServerError
	}
	writeJSON(w, http.StatusOK, res)
	return http.StatusOK
}

func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op := r.PathValue("op")
	code := s.serveRead(w, r, op)
	if _, known := readOps[op]; !known {
		op = "unknown"
	}
	s.observe(op, code, start)
}

var readOps = map[string]struct{}{
	"get": {}, "version": {}, "list": {}, "upload": {}, "uploads": {}, "parts": {}, "part": {},
	"attempt": {}, "scan": {}, "scanparts": {}, "scanuploads": {}, "feed": {}, "garbage": {},
	"background": {}, "shardscan": {}, "suspects": {}, "unreferenced": {}, "noderefs": {}, "latest": {}, "ver": {}, "versions": {},
}

func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, op string) int {
	if s.closing.Load() || !s.started.Load() {
		return s.unavailable(w)
	}
	g, err := s.partitionOf(r)
	if err != nil {
		return badRequest(w, err.Error())
	}
	if _, ok := readOps[op]; !ok {
		writeJSON(w, http.StatusNotFound, metapb.RPCError{Err: metapb.ErrBadRequest, ErrMsg: "unknown read " + op})
		return http.StatusNotFound
	}
	var req metapb.ReadRequest
	if err := s.decode(w, r, &req); err != nil {
		return badRequest(w, "bad read request: "+err.Error())
	}
	if err := g.gate.check(r.Context()); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return s.unavailable(w)
		}
		return s.writeRaftErr(w, g, err)
	}
	resp, code := read(g, op, &req)
	writeJSON(w, code, resp)
	return code
}

// read serves one read from the local state; the caller checked the gate.
func read(g *group, op string, q *metapb.ReadRequest) (metapb.ReadResponse, int) {
	st := g.state
	var out metapb.ReadResponse
	notFound := func(what string) (metapb.ReadResponse, int) {
		return metapb.ReadResponse{Err: metapb.ErrNotFound, ErrMsg: what + " not found"}, http.StatusOK
	}
	bad := func(msg string) (metapb.ReadResponse, int) {
		return metapb.ReadResponse{Err: metapb.ErrBadRequest, ErrMsg: msg}, http.StatusBadRequest
	}
	switch op {
	case "get":
		v, ok := st.Get(q.Bucket, q.Key)
		if !ok {
			return notFound("object")
		}
		out.Version = &v
	case "version":
		v, ok := st.GetVersion(q.Bucket, q.Key, q.VersionID)
		if !ok {
			return notFound("version")
		}
		out.Version = &v
	case "list":
		if q.List == nil {
			return bad("list needs a ListRequest")
		}
		l := st.List(*q.List)
		out.List = &l
	case "upload":
		u, ok := st.GetUpload(q.Bucket, q.Key, q.UploadID)
		if !ok {
			return metapb.ReadResponse{Err: metapb.ErrNoSuchUpload, ErrMsg: "upload not found"}, http.StatusOK
		}
		out.Upload = &u
	case "uploads":
		if q.ListUploads == nil {
			return bad("uploads needs a ListUploadsRequest")
		}
		l := st.ListUploads(*q.ListUploads)
		out.Uploads = &l
	case "parts":
		if q.ListParts == nil {
			return bad("parts needs a ListPartsRequest")
		}
		l, ok := st.ListParts(*q.ListParts)
		if !ok {
			return metapb.ReadResponse{Err: metapb.ErrNoSuchUpload, ErrMsg: "upload not found"}, http.StatusOK
		}
		out.Parts = &l
	case "part":
		p, ok := st.GetPart(q.Bucket, q.Key, q.UploadID, q.Number)
		if !ok {
			return notFound("part")
		}
		out.Part = &p
	case "attempt":
		p, ok := st.GetPartAttempt(q.Bucket, q.Key, q.UploadID, q.Number, q.Attempt)
		if !ok {
			return notFound("part attempt")
		}
		out.Part = &p
	case "scan":
		out.Versions = st.ScanPreparing(q.OlderThan, q.Max)
	case "scanparts":
		out.PartList = st.ScanPreparingParts(q.OlderThan, q.Max)
	case "scanuploads":
		out.UploadList = st.ScanUploads(q.OlderThan, q.Max)
	case "feed":
		out.Feed = st.ReadFeed(q.After, q.Max)
	case "garbage":
		out.Garbage = st.ListGarbage(q.Max)
	case "background":
		out.Leases, out.Checkpoints, _ = st.Background()
	case "shardscan":
		var c metapb.ShardCursor
		if q.Cursor != nil {
			c = *q.Cursor
		}
		sc := st.ScanShards(c, q.Max)
		out.ShardScan = &sc
	case "suspects":
		out.Suspects = st.Suspects(q.Max)
	case "unreferenced":
		if len(q.Shards) > metastate.MaxRefCheck {
			return bad(fmt.Sprintf("unreferenced checks at most %d shards", metastate.MaxRefCheck))
		}
		out.Shards = st.Unreferenced(q.Shards)
	case "noderefs":
		if q.Node == "" {
			return bad("noderefs needs a node")
		}
		nr := st.NodeRefs(q.Node)
		out.NodeRefs = &nr
	case "latest":
		v, ok := st.Latest(q.Bucket, q.Key)
		if !ok {
			return notFound("object")
		}
		out.Version = &v
	case "ver":
		v, ok := st.GetVer(q.Bucket, q.Key, q.Ver)
		if !ok {
			return notFound("version")
		}
		out.Version = &v
	case "versions":
		if q.ListVersions == nil {
			return bad("versions needs a ListVersionsRequest")
		}
		l := st.ListVersions(*q.ListVersions)
		out.ListVersions = &l
	}
	return out, http.StatusOK
}

// ---- control plane ----

func (s *Server) ctlGate(w http.ResponseWriter, r *http.Request) (int, bool) {
	if s.closing.Load() || !s.started.Load() {
		return s.unavailable(w), false
	}
	if err := s.ctl.gate.check(r.Context()); err != nil {
		return s.writeRaftErr(w, s.ctl, err), false
	}
	if !s.ctlFSM.View().Initialized() {
		writeJSON(w, http.StatusServiceUnavailable, metapb.RPCError{Err: metapb.ErrUnavailable, ErrMsg: "control plane not initialized yet"})
		return http.StatusServiceUnavailable, false
	}
	return 0, true
}

func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code := s.serveHeartbeat(w, r)
	s.observe("heartbeat", code, start)
}

func (s *Server) serveHeartbeat(w http.ResponseWriter, r *http.Request) int {
	var hb metapb.StorageNode
	if err := s.decode(w, r, &hb); err != nil {
		return badRequest(w, "bad heartbeat: "+err.Error())
	}
	if hb.ID == "" || hb.AZ == "" || hb.Addr == "" {
		return badRequest(w, "heartbeat needs id, az and addr")
	}
	// A storage node speaks only for itself: the heartbeat must name the
	// id and AZ of the peer certificate (routes admitted storage roles only).
	if id, err := mtls.FromRequest(r); err != nil || id.ID != hb.ID || id.AZ != hb.AZ {
		s.log.Warn("heartbeat refused: not the certificate's node", "peer", fmt.Sprint(id), "id", hb.ID, "az", hb.AZ, "addr", hb.Addr)
		writeJSON(w, http.StatusForbidden, metapb.RPCError{Err: metapb.ErrBadRequest,
			ErrMsg: fmt.Sprintf("heartbeat for %s in AZ %s from certificate %s", hb.ID, hb.AZ, id)})
		return http.StatusForbidden
	}
	if code, ok := s.ctlGate(w, r); !ok {
		return code
	}
	view := s.ctlFSM.View()
	if _, gone := view.Removed[hb.ID]; gone {
		writeJSON(w, http.StatusGone, metapb.RPCError{Err: metapb.ErrBadRequest,
			ErrMsg: fmt.Sprintf("storage node %s was removed from region %s; a replacement joins under a new id", hb.ID, view.Region)})
		return http.StatusGone
	}
	cur, known := view.Storage[hb.ID]
	if controlplane.NeedsRegister(cur, known, hb, s.cfg.CapacityDelta) {
		if _, err := s.ctlApply(controlplane.Command{Type: controlplane.CmdRegister, Register: &hb}); err != nil {
			if errors.Is(err, controlplane.ErrBadCommand) {
				return badRequest(w, err.Error())
			}
			return s.writeRaftErr(w, s.ctl, err)
		}
		s.metrics.registrations.Inc()
		s.log.Info("storage node registered", "id", hb.ID, "az", hb.AZ, "addr", hb.Addr, "capacity", hb.CapacityBytes)
	}
	s.health.Beat(hb.ID, hb.UsedBytes, time.Now())
	s.metrics.heartbeats.Inc()
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code, ok := s.ctlGate(w, r)
	if ok {
		writeJSON(w, http.StatusOK, s.regionStatus())
		code = http.StatusOK
	}
	s.observe("status", code, start)
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	code, ok := s.ctlGate(w, r)
	if ok {
		writeJSON(w, http.StatusOK, s.health.Annotate(s.ctlFSM.View().Storage, time.Now()))
		code = http.StatusOK
	}
	s.observe("nodes", code, start)
}

// handleDrain starts or cancels a storage node's drain (admin); handleRemove
// removes a drained node (docs/background.md, "Node lifecycle"). Refusals
// answer 200 with a Result error: NotFound (no such node) or Conflict (not
// drained).
func (s *Server) handleDrain(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req controlplane.DrainRequest
	code := s.serveCtlCommand(w, r, &req, func() controlplane.Command {
		return controlplane.Command{Type: controlplane.CmdDrain, Drain: &req}
	})
	s.observe("drain", code, start)
}

func (s *Server) handleRemove(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req controlplane.RemoveRequest
	code := s.serveCtlCommand(w, r, &req, func() controlplane.Command {
		return controlplane.Command{Type: controlplane.CmdRemove, Remove: &req}
	})
	s.observe("remove", code, start)
}

func (s *Server) serveCtlCommand(w http.ResponseWriter, r *http.Request, req any, cmd func() controlplane.Command) int {
	if err := s.decode(w, r, req); err != nil {
		return badRequest(w, "bad request: "+err.Error())
	}
	if code, ok := s.ctlGate(w, r); !ok {
		return code
	}
	res, err := s.ctlApply(cmd())
	if err == nil {
		err = res.Err
	}
	var out metapb.Result
	switch {
	case err == nil:
	case errors.Is(err, controlplane.ErrNoSuchNode):
		out = metapb.Result{Err: metapb.ErrNotFound, ErrMsg: err.Error()}
	case errors.Is(err, controlplane.ErrNotDrained):
		out = metapb.Result{Err: metapb.ErrConflict, ErrMsg: err.Error()}
	case errors.Is(err, controlplane.ErrBadCommand):
		return badRequest(w, err.Error())
	default:
		return s.writeRaftErr(w, s.ctl, err)
	}
	if out.Err == "" {
		s.log.Info("control plane changed by admin", "path", r.URL.Path, "request", fmt.Sprintf("%+v", req))
	}
	writeJSON(w, http.StatusOK, out)
	return http.StatusOK
}
