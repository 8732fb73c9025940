package regional

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EnvTestFaults names the environment variable from which `meridian
// regional` builds Config.BeforeCommit, for process-level tests
// (testbed/e2e) that must pause a PUT between its shard writes and its
// COMMIT. It is a test-only hook: it can only delay requests, only for keys
// under an explicit prefix, at most MaxTestCommitDelay, and the gateway logs
// a warning at start when it is set. Never set it in production.
//
//	MERIDIAN_TEST_FAULTS="commit-delay=3s,key-prefix=fault-test/"
const EnvTestFaults = "MERIDIAN_TEST_FAULTS"

// MaxTestCommitDelay bounds the commit delay of EnvTestFaults.
const MaxTestCommitDelay = time.Minute

// ParseTestFaults parses the value of EnvTestFaults into a BeforeCommit
// hook: keys starting with key-prefix (required, non-empty) wait
// commit-delay (required, in (0, MaxTestCommitDelay]) before their COMMIT,
// or until the request is cancelled.
func ParseTestFaults(spec string) (func(ctx context.Context, bucket, key string), error) {
	var delay time.Duration
	var prefix string
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("regional: %s: %q is not key=value", EnvTestFaults, kv)
		}
		switch k {
		case "commit-delay":
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("regional: %s: commit-delay: %w", EnvTestFaults, err)
			}
			delay = d
		case "key-prefix":
			prefix = v
		default:
			return nil, fmt.Errorf("regional: %s: unknown fault %q", EnvTestFaults, k)
		}
	}
	if prefix == "" {
		return nil, errors.New("regional: " + EnvTestFaults + ": key-prefix is required")
	}
	if delay <= 0 || delay > MaxTestCommitDelay {
		return nil, fmt.Errorf("regional: %s: commit-delay must be in (0, %v]", EnvTestFaults, MaxTestCommitDelay)
	}
	return func(ctx context.Context, _, key string) {
		if !strings.HasPrefix(key, prefix) {
			return
		}
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}, nil
}
