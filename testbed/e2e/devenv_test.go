package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDevEnvOperator: with only the variables of <data>/dev.env (and PATH)
// in the environment, an operator's shell can run `meridian status` and
// manage keys through the admin API of the running `meridian dev` — while
// the dev process holds the embedded catalog open — and a key made so
// works at once through the edge.
func TestDevEnvOperator(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dev := exec.CommandContext(ctx, meridianBin, "dev", "--data", filepath.Join(dir, "data"), "--base-port", "8000",
		"--more-regions", "", "--partitions", "2", "--log-level", "error")
	logf, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	dev.Stdout, dev.Stderr = logf, logf
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = dev.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = dev.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = dev.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dev.log"))
			t.Logf("dev log:\n%s", b)
		}
	}()
	envPath := filepath.Join(dir, "data", "dev.env")
	var env []string
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if env = readEnvFile(t, envPath); len(env) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dev.env not written within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	env = append(env, "PATH="+os.Getenv("PATH"), "HOME="+dir)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, meridianBin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("meridian %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("status"); !strings.Contains(out, "partition 1") || !strings.Contains(out, "storage") {
		t.Fatalf("status:\n%s", out)
	}
	var key struct {
		AccountID string `json:"account_id"`
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
	if err := json.Unmarshal([]byte(run("admin", "create-key", "--name", "ops-made")), &key); err != nil || key.AccessKey == "" || key.SecretKey == "" {
		t.Fatalf("create-key answer: %+v %v", key, err)
	}
	// The new key works through the edge at once.
	_, noCLI := exec.LookPath("aws")
	if noCLI != nil && os.Getenv("MERIDIAN_ALLOW_NO_AWSCLI") != "1" {
		t.Fatal("the aws CLI is not on PATH: install it (pip install awscli) or set MERIDIAN_ALLOW_NO_AWSCLI=1 to skip its part")
	}
	if noCLI == nil {
		endpoint := envValue(env, "MERIDIAN_S3_ENDPOINT")
		cli := exec.CommandContext(ctx, "aws", "--endpoint-url", endpoint, "s3api", "create-bucket", "--bucket", "ops-made-bucket")
		cli.Env = replaceEnv(replaceEnv(env, "AWS_ACCESS_KEY_ID", key.AccessKey), "AWS_SECRET_ACCESS_KEY", key.SecretKey)
		if out, err := cli.CombinedOutput(); err != nil {
			t.Fatalf("create-bucket with the new key: %v\n%s", err, out)
		}
		if out := run("admin", "list-buckets"); !strings.Contains(out, "ops-made-bucket") || !strings.Contains(out, key.AccountID) {
			t.Fatalf("list-buckets:\n%s", out)
		}
		// Replication configuration through the stock CLI (docs/replication.md).
		aws := func(args ...string) (string, error) {
			c := exec.CommandContext(ctx, "aws", append([]string{"--endpoint-url", endpoint, "s3api"}, args...)...)
			c.Env = cli.Env
			out, err := c.CombinedOutput()
			return string(out), err
		}
		for _, b := range []string{"repl-src", "repl-dst"} {
			if out, err := aws("create-bucket", "--bucket", b); err != nil {
				t.Fatalf("create %s: %v\n%s", b, err, out)
			}
		}
		rule := `{"Role":"arn:aws:iam::1:role/r","Rules":[{"ID":"all","Priority":1,"Status":"Enabled","Filter":{"Prefix":""},"DeleteMarkerReplication":{"Status":"Enabled"},"Destination":{"Bucket":"arn:aws:s3:::repl-dst"}}]}`
		if out, err := aws("put-bucket-replication", "--bucket", "repl-src", "--replication-configuration", rule); err == nil || !strings.Contains(out, "InvalidRequest") {
			t.Fatalf("replication on an unversioned bucket: %v\n%s", err, out)
		}
		for _, b := range []string{"repl-src", "repl-dst"} {
			if out, err := aws("put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled"); err != nil {
				t.Fatalf("versioning %s: %v\n%s", b, err, out)
			}
		}
		if out, err := aws("put-bucket-replication", "--bucket", "repl-src", "--replication-configuration", rule); err != nil {
			t.Fatalf("put-bucket-replication: %v\n%s", err, out)
		}
		if out, err := aws("get-bucket-replication", "--bucket", "repl-src"); err != nil || !strings.Contains(out, "arn:aws:s3:::repl-dst") || !strings.Contains(out, `"Priority": 1`) {
			t.Fatalf("get-bucket-replication: %v\n%s", err, out)
		}
		if out, err := aws("delete-bucket-replication", "--bucket", "repl-src"); err != nil {
			t.Fatalf("delete-bucket-replication: %v\n%s", err, out)
		}
	}
	run("admin", "revoke-key", "--access-key", key.AccessKey)
	// Without the admin certificate the API refuses.
	cmd := exec.CommandContext(ctx, meridianBin, "admin", "list-buckets")
	cmd.Env = replaceEnv(env, "MERIDIAN_TLS_CERT", "")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("admin without a certificate succeeded:\n%s", out)
	}
}

func readEnvFile(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			out = append(out, kv)
		}
	}
	if envValue(out, "MERIDIAN_ADMIN") == "" {
		return nil
	}
	return out
}

func envValue(env []string, k string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

func replaceEnv(env []string, k, v string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, k+"=") {
			out = append(out, kv)
		}
	}
	return append(out, k+"="+v)
}
