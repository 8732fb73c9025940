package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/testbed/benchtool"
)

// runLoad drives a mixed PUT+GET load against a running deployment (the
// dev.env of `meridian dev`) and, with --pid, reports that process's peak
// resident set (VmHWM) — the memory check of `make memcheck`.
func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	env := fs.String("env", "", "dev.env written by `meridian dev` (endpoints, credentials, CA)")
	conc := fs.Int("concurrency", 64, "concurrent clients")
	minS := fs.String("min", "4KiB", "smallest object")
	maxS := fs.String("max", "1MiB", "largest object")
	dur := fs.Duration("duration", 60*time.Second, "how long to run")
	paths := fs.String("paths", "edge,direct", "which endpoints the clients use: edge, direct or both (alternating)")
	pid := fs.Int("pid", 0, "process whose peak RSS (VmHWM) to report; 0: none")
	limit := fs.String("max-rss", "", "fail when the process's peak RSS exceeds this (e.g. 600MiB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *env == "" {
		return errors.New("load: --env is required")
	}
	vars, err := readEnvFile(*env)
	if err != nil {
		return err
	}
	minSize, err := parseSize(*minS)
	if err != nil {
		return err
	}
	maxSize, err := parseSize(*maxS)
	if err != nil {
		return err
	}
	var rssLimit int64
	if *limit != "" {
		if rssLimit, err = parseSize(*limit); err != nil {
			return err
		}
	}
	ak, sk, region := vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], vars["AWS_DEFAULT_REGION"]
	var clients []*benchtool.Client
	for _, p := range splitList(*paths) {
		switch p {
		case "edge":
			c, err := benchtool.NewTLSClient(vars["MERIDIAN_S3_ENDPOINT"], region, ak, sk, *conc, vars["AWS_CA_BUNDLE"])
			if err != nil {
				return fmt.Errorf("load: edge client: %w", err)
			}
			clients = append(clients, c)
		case "direct":
			ep := vars["MERIDIAN_REGIONAL_"+strings.ToUpper(strings.ReplaceAll(region, "-", "_"))]
			if ep == "" {
				return fmt.Errorf("load: %s has no regional endpoint for %s", *env, region)
			}
			clients = append(clients, benchtool.NewClient(ep, region, ak, sk, *conc))
		default:
			return fmt.Errorf("load: unknown path %q", p)
		}
	}
	var base int64
	if *pid > 0 {
		if base, err = procStatusBytes(*pid, "VmRSS:"); err != nil {
			return err
		}
		fmt.Printf("process %d: RSS %d MiB before the load\n", *pid, base>>20)
	}
	cfg := benchtool.MixedConfig{Bucket: "memcheck", Concurrency: *conc, MinSize: int(minSize), MaxSize: int(maxSize),
		Duration: *dur, Clients: clients}
	if *pid > 0 {
		cfg.Sample = func(el time.Duration) {
			if el.Round(time.Second)%(10*time.Second) != 0 {
				return
			}
			rss, _ := procStatusBytes(*pid, "VmRSS:")
			hwm, _ := procStatusBytes(*pid, "VmHWM:")
			fmt.Printf("  %3.0fs  RSS %4d MiB  peak %4d MiB\n", el.Seconds(), rss>>20, hwm>>20)
		}
	}
	fmt.Printf("load: %d clients (%s), objects %s–%s, PUT then GET, for %s\n", *conc, *paths, *minS, *maxS, *dur)
	res, err := benchtool.Mixed(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Println("load:", res)
	if res.FirstErr != nil {
		fmt.Println("load: first error:", res.FirstErr)
	}
	if *pid > 0 {
		hwm, err := procStatusBytes(*pid, "VmHWM:")
		if err != nil {
			return err
		}
		fmt.Printf("peak RSS (VmHWM of process %d): %d MiB\n", *pid, hwm>>20)
		if rssLimit > 0 && hwm > rssLimit {
			return fmt.Errorf("load: peak RSS %d MiB exceeds %d MiB", hwm>>20, rssLimit>>20)
		}
	}
	if res.Puts == 0 || res.Errors*100 > res.Puts+res.Gets {
		return fmt.Errorf("load: too many errors (%d)", res.Errors)
	}
	return nil
}

// readEnvFile parses the `export K=V` lines of a dev.env.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out, sc.Err()
}

// procStatusBytes reads a "kB" field (VmRSS:, VmHWM:) of /proc/<pid>/status.
func procStatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("odd %s line %q", field, l)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
