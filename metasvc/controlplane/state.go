package controlplane

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Sentinel errors.
var (
	ErrBadCommand = errors.New("controlplane: bad command")
	ErrBadFormat  = errors.New("controlplane: unsupported snapshot format")
	// ErrRemoved: the storage node id was removed from the region; it
	// cannot register again (a replacement joins under a new id).
	ErrRemoved = errors.New("controlplane: storage node removed")
	// ErrNoSuchNode: drain or remove of an id that is not registered.
	ErrNoSuchNode = errors.New("controlplane: no such storage node")
	// ErrNotDrained: remove of a node that is not draining, or has been
	// draining for less than the request's MinDrained.
	ErrNotDrained = errors.New("controlplane: storage node not drained")
)

// FormatV1 is the snapshot/record format of State.
const FormatV1 = 1

// State is the replicated control-plane state.
type State struct {
	Format     int                           `json:"fmt"`
	Region     string                        `json:"region"`
	MetaNodes  []metapb.MetaNode             `json:"meta_nodes"`
	Partitions []metapb.PartitionInfo        `json:"partitions"` // Leader is never set here
	Storage    map[string]metapb.StorageNode `json:"storage"`    // by id; heartbeat fields zero
	// Removed: ids removed by remove-node (value: the control plane's
	// time of removal); their heartbeats are refused.
	Removed map[string]time.Time `json:"removed,omitempty"`
}

// Initialized reports whether an Init command has been applied.
func (s State) Initialized() bool { return s.Region != "" }

// CommandType selects a Command's payload.
type CommandType uint8

const (
	CmdInit     CommandType = 1
	CmdRegister CommandType = 2
	CmdDrain    CommandType = 3 // start or cancel a node's drain
	CmdRemove   CommandType = 4 // remove a drained node
)

// Command is one ctl log entry. Time is the proposing leader's clock.
type Command struct {
	Type     CommandType         `json:"t"`
	Time     time.Time           `json:"time"`
	Init     *InitRequest        `json:"init,omitempty"`
	Register *metapb.StorageNode `json:"register,omitempty"`
	Drain    *DrainRequest       `json:"drain,omitempty"`
	Remove   *RemoveRequest      `json:"remove,omitempty"`
}

// DrainRequest and RemoveRequest are the admin's wire types (metapb).
type (
	DrainRequest  = metapb.DrainRequest
	RemoveRequest = metapb.RemoveNodeRequest
)

// InitRequest creates the region. Only the first Init takes effect.
type InitRequest struct {
	Region     string            `json:"region"`
	MetaNodes  []metapb.MetaNode `json:"meta_nodes"`
	Partitions int               `json:"partitions"`
}

// ApplyResult is what FSM.Apply returns for a log entry.
type ApplyResult struct {
	Err     error
	Changed bool
}

// FSM is the ctl group's raft.FSM.
type FSM struct {
	mu sync.RWMutex
	st State
}

var _ raft.FSM = (*FSM)(nil)

// NewFSM returns an empty control-plane state machine.
func NewFSM() *FSM {
	return &FSM{st: State{Format: FormatV1, Storage: map[string]metapb.StorageNode{}}}
}

// Encode marshals a command for raft.Apply.
func Encode(c Command) ([]byte, error) { return json.Marshal(c) }

// Apply implements raft.FSM. It returns an ApplyResult.
func (f *FSM) Apply(l *raft.Log) interface{} {
	var c Command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return ApplyResult{Err: fmt.Errorf("%w: %v", ErrBadCommand, err)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.apply(c)
}

func (s *State) apply(c Command) ApplyResult {
	switch c.Type {
	case CmdInit:
		if c.Init == nil || c.Init.Region == "" || c.Init.Partitions <= 0 {
			return ApplyResult{Err: fmt.Errorf("%w: init needs a region and partitions", ErrBadCommand)}
		}
		if s.Initialized() {
			return ApplyResult{}
		}
		s.Region = c.Init.Region
		s.MetaNodes = slices.Clone(c.Init.MetaNodes)
		ids := make([]string, 0, len(s.MetaNodes))
		for _, n := range s.MetaNodes {
			ids = append(ids, n.ID)
		}
		s.Partitions = make([]metapb.PartitionInfo, c.Init.Partitions)
		for i := range s.Partitions {
			s.Partitions[i] = metapb.PartitionInfo{ID: i, Replicas: slices.Clone(ids)}
		}
		return ApplyResult{Changed: true}
	case CmdRegister:
		n := c.Register
		if n == nil || n.ID == "" || n.Addr == "" || n.AZ == "" {
			return ApplyResult{Err: fmt.Errorf("%w: register needs id, az and addr", ErrBadCommand)}
		}
		rec := metapb.StorageNode{
			ID:            n.ID,
			AZ:            n.AZ,
			Addr:          n.Addr,
			CapacityBytes: n.CapacityBytes,
			UsedBytes:     n.UsedBytes,
			Registered:    c.Time,
		}
		if _, gone := s.Removed[n.ID]; gone {
			return ApplyResult{Err: fmt.Errorf("%w: %s", ErrRemoved, n.ID)}
		}
		if s.Storage == nil {
			s.Storage = map[string]metapb.StorageNode{}
		}
		if cur, ok := s.Storage[n.ID]; ok { // a drain outlives re-registration
			rec.Draining, rec.DrainStarted = cur.Draining, cur.DrainStarted
		}
		s.Storage[n.ID] = rec
		return ApplyResult{Changed: true}
	case CmdDrain:
		d := c.Drain
		if d == nil || d.ID == "" {
			return ApplyResult{Err: fmt.Errorf("%w: drain needs an id", ErrBadCommand)}
		}
		n, ok := s.Storage[d.ID]
		if !ok {
			return ApplyResult{Err: fmt.Errorf("%w: %s", ErrNoSuchNode, d.ID)}
		}
		if n.Draining == d.On {
			return ApplyResult{}
		}
		n.Draining, n.DrainStarted = d.On, time.Time{}
		if d.On {
			n.DrainStarted = c.Time
		}
		s.Storage[d.ID] = n
		return ApplyResult{Changed: true}
	case CmdRemove:
		rm := c.Remove
		if rm == nil || rm.ID == "" {
			return ApplyResult{Err: fmt.Errorf("%w: remove needs an id", ErrBadCommand)}
		}
		n, ok := s.Storage[rm.ID]
		if !ok {
			if _, gone := s.Removed[rm.ID]; gone {
				return ApplyResult{} // a retried remove
			}
			return ApplyResult{Err: fmt.Errorf("%w: %s", ErrNoSuchNode, rm.ID)}
		}
		if !n.Draining {
			return ApplyResult{Err: fmt.Errorf("%w: %s is not draining (run drain first)", ErrNotDrained, rm.ID)}
		}
		if since := c.Time.Sub(n.DrainStarted); since < rm.MinDrained {
			return ApplyResult{Err: fmt.Errorf("%w: %s has been draining for %v, less than %v", ErrNotDrained, rm.ID, since.Round(time.Millisecond), rm.MinDrained)}
		}
		delete(s.Storage, rm.ID)
		if s.Removed == nil {
			s.Removed = map[string]time.Time{}
		}
		s.Removed[rm.ID] = c.Time
		return ApplyResult{Changed: true}
	}
	return ApplyResult{Err: fmt.Errorf("%w: type %d", ErrBadCommand, c.Type)}
}

// View returns a deep-enough copy of the current state.
func (f *FSM) View() State {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.clone()
}

func (s State) clone() State {
	c := s
	c.MetaNodes = slices.Clone(s.MetaNodes)
	c.Partitions = make([]metapb.PartitionInfo, len(s.Partitions))
	for i, p := range s.Partitions {
		p.Replicas = slices.Clone(p.Replicas)
		c.Partitions[i] = p
	}
	c.Storage = maps.Clone(s.Storage)
	if c.Storage == nil {
		c.Storage = map[string]metapb.StorageNode{}
	}
	c.Removed = maps.Clone(s.Removed)
	return c
}

// Snapshot implements raft.FSM.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return snapshot{st: f.View()}, nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st State
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return fmt.Errorf("controlplane: restore: %w", err)
	}
	if st.Format != FormatV1 {
		return fmt.Errorf("%w: %d", ErrBadFormat, st.Format)
	}
	if st.Storage == nil {
		st.Storage = map[string]metapb.StorageNode{}
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	return nil
}

type snapshot struct{ st State }

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.st); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (snapshot) Release() {}

// NeedsRegister reports whether a heartbeat from hb must be written through
// Raft: the node is unknown, or its AZ or address changed, or its capacity
// changed by more than capacityDelta (a fraction, e.g. 0.05).
func NeedsRegister(cur metapb.StorageNode, known bool, hb metapb.StorageNode, capacityDelta float64) bool {
	if !known || cur.AZ != hb.AZ || cur.Addr != hb.Addr {
		return true
	}
	d := float64(hb.CapacityBytes - cur.CapacityBytes)
	if d < 0 {
		d = -d
	}
	base := float64(cur.CapacityBytes)
	if base <= 0 {
		return hb.CapacityBytes != cur.CapacityBytes
	}
	return d/base > capacityDelta
}
