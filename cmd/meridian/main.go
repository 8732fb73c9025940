// Command meridian is Meridian's one binary: a subcommand per role
// (dev, meta, storage, regional) plus admin commands. It parses flags,
// builds a signal-cancelled context, runs, and exits once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"dev":      {"run the single-machine deployment (all roles on loopback)", runDev},
		"meta":     {"run a metadata node (Raft partitions + control plane)", runMeta},
		"storage":  {"run a storage node", runStorage},
		"regional": {"run a regional S3 gateway", runRegional},
		"edge":     {"run a TLS edge gateway (proxies to each bucket's home region over QUIC)", runEdge},
		"devcerts": {"write a dev CA and edge/regional certificates for a multi-process deployment", runDevCerts},
		"status":   {"print the region's status (partitions, leaders, storage nodes, AZ-loss tolerance)", runStatus},
		"admin":    {"catalog administration: create-account, create-key, revoke-key, list-buckets", runAdmin},
		"bench":    {"benchmark PUT/GET/LIST against a private dev cluster", runBench},
		"load":     {"mixed PUT+GET load against a running deployment; reports a process's peak RSS (make memcheck)", runLoad},

		"background": {"run a region's background server (janitor; work leased per metadata partition)", runBackground},
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: meridian <command> [flags]\n\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-9s %s\n", n, cmds[n].summary)
	}
}

func main() {
	if err := run(); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "meridian:", err)
		}
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) < 2 {
		usage()
		return flag.ErrHelp
	}
	cmd, ok := commands()[os.Args[1]]
	if !ok {
		usage()
		return fmt.Errorf("unknown command %q", os.Args[1])
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, os.Args[2:])
}

// newLogger builds the process logger from --log-level.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
