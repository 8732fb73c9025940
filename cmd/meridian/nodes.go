package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/meridian-s3/meridian/background"
	"github.com/meridian-s3/meridian/internal/mtls"
	"github.com/meridian-s3/meridian/metasvc/metaclient"
	"github.com/meridian-s3/meridian/metasvc/metapb"
)

// Node lifecycle for operators (docs/background.md, "Node lifecycle"):
//
//	meridian admin drain NODE [--status] [--cancel] [--wait] [--json]
//	meridian admin remove-node NODE [--min-drained 10s]

// adminMeta parses the common flags of the node commands and returns the
// node id argument and a metadata client with an admin certificate.
func adminMeta(fs *flag.FlagSet, args []string) (string, *metaclient.Client, error) {
	meta := fs.String("meta", os.Getenv("MERIDIAN_META"), "meta node addresses host:port,… [$MERIDIAN_META]")
	tf := nodeTLSFlags(fs, "an admin")
	// The node id may come before or after the flags.
	var id string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", nil, err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		return "", nil, fmt.Errorf("%s: want a storage node id", fs.Name())
	}
	node, err := mtls.Load(*tf.ca, *tf.cert, *tf.key)
	if err != nil {
		return "", nil, fmt.Errorf("%s: --ca/--tls-cert/--tls-key: %w", fs.Name(), err)
	}
	mc := metaclient.DefaultConfig()
	mc.Seeds = splitList(*meta)
	mc.TLS = node
	client, err := metaclient.New(mc)
	return id, client, err
}

// DrainStatus is `meridian admin drain NODE --status --json`.
type DrainStatus struct {
	Node         string    `json:"node"`
	Registered   bool      `json:"registered"`
	Draining     bool      `json:"draining"`
	DrainStarted time.Time `json:"drain_started,omitzero"`
	Healthy      bool      `json:"healthy"`
	UsedBytes    int64     `json:"used_bytes"` // the node's own count (includes garbage not yet deleted)
	// Left: what the records of every partition still place on the node
	// (one consistent read per partition).
	LeftShards    int64 `json:"left_shards"`
	LeftBytes     int64 `json:"left_bytes"`
	LeftPreparing int64 `json:"left_preparing"`
	LeftRecords   int64 `json:"left_records"`
	// Moved and failed, from the drainer checkpoints (since the drain started
	// on each partition's current drainer).
	MovedShards int64 `json:"moved_shards"`
	MovedBytes  int64 `json:"moved_bytes"`
	Superseded  int64 `json:"superseded"`
	Failed      int64 `json:"failed"`
	Done        bool  `json:"done"` // draining and nothing left: remove-node will be accepted
}

func drainStatus(ctx context.Context, c *metaclient.Client, id string) (DrainStatus, error) {
	st := DrainStatus{Node: id}
	nodes, err := c.StorageNodes(ctx)
	if err != nil {
		return st, err
	}
	for _, n := range nodes {
		if n.ID == id {
			st.Registered, st.Draining, st.DrainStarted, st.Healthy, st.UsedBytes = true, n.Draining, n.DrainStarted, n.Healthy, n.UsedBytes
		}
	}
	left, err := nodeRefs(ctx, c, id)
	if err != nil {
		return st, err
	}
	st.LeftShards, st.LeftBytes, st.LeftPreparing, st.LeftRecords = left.Shards, left.Bytes, left.Preparing, left.Records
	var cps [][]metapb.Checkpoint
	for p := 0; p < c.Partitions(); p++ {
		_, list, err := c.Background(ctx, p)
		if err != nil {
			return st, fmt.Errorf("partition %d: %w", p, err)
		}
		cps = append(cps, list)
	}
	prog, err := background.DrainProgress(cps)
	if err != nil {
		return st, err
	}
	pr := prog[id]
	st.MovedShards, st.MovedBytes, st.Superseded, st.Failed = pr.Moved, pr.MovedBytes, pr.Superseded, pr.Failed
	st.Done = st.Draining && left.Shards == 0 && left.Preparing == 0
	return st, nil
}

// nodeRefs sums NodeRefs over every partition.
func nodeRefs(ctx context.Context, c *metaclient.Client, id string) (metapb.NodeRefs, error) {
	var sum metapb.NodeRefs
	for p := 0; p < c.Partitions(); p++ {
		r, err := c.NodeRefs(ctx, p, id)
		if err != nil {
			return sum, fmt.Errorf("partition %d: %w", p, err)
		}
		sum.Records += r.Records
		sum.Shards += r.Shards
		sum.Bytes += r.Bytes
		sum.Preparing += r.Preparing
	}
	return sum, nil
}

func printDrainStatus(st DrainStatus, asJSON bool) {
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(st)
		return
	}
	state := "not draining"
	switch {
	case !st.Registered:
		state = "not registered"
	case st.Done:
		state = "drained (remove-node will be accepted)"
	case st.Draining:
		state = fmt.Sprintf("draining since %s", st.DrainStarted.Format(time.RFC3339))
	}
	fmt.Printf("node %s: %s\n", st.Node, state)
	fmt.Printf("  moved:     %d shards, %s (superseded %d, failed attempts %d)\n", st.MovedShards, humanBytes(st.MovedBytes), st.Superseded, st.Failed)
	fmt.Printf("  remaining: %d shards, %s in %d records (+%d planned by writes in progress)\n", st.LeftShards, humanBytes(st.LeftBytes), st.LeftRecords, st.LeftPreparing)
	fmt.Printf("  on disk:   %s (node's count, includes replaced shards the janitor has not deleted yet)\n", humanBytes(st.UsedBytes))
}

// runDrain: `meridian admin drain NODE` marks the node draining (no new
// shards; the background drainer moves its shards away) and prints the
// progress; --status only prints it; --wait polls until nothing is left;
// --cancel ends the drain.
func runDrain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin drain", flag.ContinueOnError)
	status := fs.Bool("status", false, "only print the drain's progress")
	cancel := fs.Bool("cancel", false, "cancel the drain (the node takes new shards again)")
	wait := fs.Bool("wait", false, "poll the progress until no record places a shard on the node")
	every := fs.Duration("every", 2*time.Second, "poll interval of --wait")
	asJSON := fs.Bool("json", false, "print the status as JSON (one line per poll)")
	id, c, err := adminMeta(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	if !*status {
		if err := c.DrainNode(ctx, id, !*cancel); err != nil {
			return fmt.Errorf("admin drain %s: %w", id, err)
		}
		if *cancel {
			fmt.Printf("drain of %s cancelled\n", id)
			return nil
		}
	}
	for {
		st, err := drainStatus(ctx, c, id)
		if err != nil {
			return fmt.Errorf("admin drain %s: %w", id, err)
		}
		printDrainStatus(st, *asJSON)
		if !*wait || st.Done || !st.Draining {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*every):
		}
	}
}

// ErrStillHolds: remove-node refused because records still place shards
// on the node.
var ErrStillHolds = errors.New("storage node still holds shards that records reference")

// runRemoveNode: `meridian admin remove-node NODE` removes a drained node
// from the control plane. The rule: refused unless (1) the node is
// draining, for at least --min-drained, and (2) no record of any partition
// — committed version (current or noncurrent), committed part, PREPARING
// version or part attempt — places a shard on it (one consistent read per
// partition). Every shard of a 10+4 object is the only copy of itself, so
// this is exactly "no object would drop below full redundancy".
func runRemoveNode(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("admin remove-node", flag.ContinueOnError)
	minDrained := fs.Duration("min-drained", 10*time.Second, "least time the node must have been draining (every gateway's node view has seen it)")
	id, c, err := adminMeta(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := drainStatus(ctx, c, id)
	if err != nil {
		return fmt.Errorf("admin remove-node %s: %w", id, err)
	}
	switch {
	case !st.Registered:
		return fmt.Errorf("admin remove-node %s: %w", id, metaclient.ErrNotFound)
	case !st.Draining:
		return fmt.Errorf("admin remove-node %s: refused: the node is not draining (run `meridian admin drain %s` first)", id, id)
	case st.LeftShards > 0 || st.LeftPreparing > 0:
		return fmt.Errorf("admin remove-node %s: refused: %w: %d shards (%s) in %d records, %d planned by writes in progress; without them those objects would drop below full redundancy (see `meridian admin drain %s --status`)",
			id, ErrStillHolds, st.LeftShards, humanBytes(st.LeftBytes), st.LeftRecords, st.LeftPreparing, id)
	}
	if err := c.RemoveNode(ctx, id, *minDrained); err != nil {
		return fmt.Errorf("admin remove-node %s: refused: %w", id, err)
	}
	fmt.Printf("storage node %s removed from the control plane (it held no referenced shard)\n", id)
	return nil
}
