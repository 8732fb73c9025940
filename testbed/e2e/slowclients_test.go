package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Slow clients (issue 6): connections that send a request head declaring a
// body and then nothing must not hold the server. With a 2 s body idle
// deadline, 200 signed PUTs that go silent are all answered 400
// RequestTimeout (S3's XML) and closed within the deadline, 200 unsigned
// ones get their 403 at once and are closed, at the edge (HTTPS) and at the
// regional gateway (HTTP); afterwards each server's goroutine count
// (go_goroutines on its metrics listener) returns to its baseline.
func TestSlowClients(t *testing.T) {
	const idle = 2 * time.Second
	mp := freePorts(t, 2)
	gwMetrics, edgeMetrics := fmt.Sprintf("127.0.0.1:%d", mp[0]), fmt.Sprintf("127.0.0.1:%d", mp[1])
	deadlines := []string{"--body-idle-timeout", idle.String(), "--body-total-timeout", "1m"}
	g := StartGlobal(t, GlobalOptions{Regions: []string{testRegion},
		GatewayArgs: append([]string{"--metrics-listen", gwMetrics}, deadlines...),
		EdgeArgs:    append([]string{"--metrics-listen", edgeMetrics}, deadlines...)})
	ctx := context.Background()
	e := g.Edges[testRegion]
	// The bucket lives in us-east-1, which takes no location constraint.
	if err := CreateBucketIn(ctx, g.Client(e, testAccessKey, testSecretKey), "slow", ""); err != nil {
		t.Fatal(err)
	}
	eu, _ := url.Parse(e.URL)
	targets := []struct {
		name, addr, metrics string
		tls                 *tls.Config
	}{
		{"edge", eu.Host, edgeMetrics, g.TLSConfig()},
		{"regional", strings.TrimPrefix(g.Regions[testRegion].Endpoint, "http://"), gwMetrics, nil},
	}
	// Baselines before any slow client (the edge's requests reach the
	// regional gateway too).
	base := map[string]int{}
	for _, tg := range targets {
		base[tg.name] = goroutines(t, tg.metrics)
	}
	t.Logf("goroutines at rest: %v", base)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			base := base[tg.name]
			for _, c := range []struct {
				name   string
				signed bool
				status int
				code   string
				within time.Duration
			}{
				{"signed", true, http.StatusBadRequest, "RequestTimeout", idle + 5*time.Second},
				{"unsigned", false, http.StatusForbidden, "AccessDenied", 5 * time.Second},
			} {
				n := 200
				start := time.Now()
				var wg sync.WaitGroup
				errs := make(chan error, n)
				var mu sync.Mutex
				var slowest time.Duration
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						took, err := silentPut(tg.addr, tg.tls, fmt.Sprintf("/slow/%s-%d", c.name, i), c.signed, c.status, c.code, c.within)
						if err != nil {
							errs <- fmt.Errorf("%s %d: %w", c.name, i, err)
						}
						mu.Lock()
						slowest = max(slowest, took)
						mu.Unlock()
					}(i)
				}
				wg.Wait()
				close(errs)
				bad := 0
				for err := range errs {
					if bad++; bad <= 5 {
						t.Error(err)
					}
				}
				if bad > 0 {
					t.Fatalf("%d of %d %s silent PUTs not answered %d %s and closed within %v", bad, n, c.name, c.status, c.code, c.within)
				}
				t.Logf("goroutines now: edge %d, regional %d", goroutines(t, edgeMetrics), goroutines(t, gwMetrics))
				t.Logf("%s: %d %s silent PUTs answered %d %s and closed; slowest %v, all in %v",
					tg.name, n, c.name, c.status, c.code, slowest.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
			}
			// Back to baseline: every connection's goroutines ended.
			deadline := time.Now().Add(15 * time.Second)
			for {
				now := goroutines(t, tg.metrics)
				if now <= base+10 {
					t.Logf("%s goroutines: baseline %d, now %d", tg.name, base, now)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s goroutines: baseline %d, still %d after the slow clients left", tg.name, base, now)
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
}

// silentPut opens a connection, sends a PUT head declaring 1 MiB of body
// (SigV4-signed with UNSIGNED-PAYLOAD, or unsigned) and then nothing. It
// checks the answer's status and S3 error code, that it came within
// `within`, and that the server then closed the connection.
func silentPut(addr string, tc *tls.Config, path string, signed bool, status int, code string, within time.Duration) (time.Duration, error) {
	start := time.Now()
	var c net.Conn
	var err error
	if tc != nil {
		tc = tc.Clone()
		tc.ServerName = "localhost"
		tc.NextProtos = []string{"http/1.1"}
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, tc)
	} else {
		c, err = net.DialTimeout("tcp", addr, 10*time.Second)
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	const length = 1 << 20
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+path, nil)
	req.ContentLength = length
	if signed {
		req.Header.Set("Content-Length", strconv.Itoa(length))
		sign(nopTB{}, req, testAccessKey, testSecretKey, "UNSIGNED-PAYLOAD", time.Now())
	}
	var head strings.Builder
	fmt.Fprintf(&head, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", path, addr, length)
	for k, vs := range req.Header {
		if k == "Content-Length" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("\r\n")
	if _, err := io.WriteString(c, head.String()); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(start.Add(within))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("no answer after %v: %w", took.Round(time.Millisecond), err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(body), "<Code>"+code+"</Code>") {
		return took, fmt.Errorf("answer %d %q, want %d %s", resp.StatusCode, body, status, code)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return took, fmt.Errorf("connection not closed after the answer: %v", err)
	}
	return took, nil
}

// goroutines reads go_goroutines from a metrics listener.
func goroutines(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
	}
	t.Fatalf("no go_goroutines on %s/metrics", addr)
	return 0
}

// nopTB lets sign run off the test goroutine (it only fails on a signer bug).
type nopTB struct{ testing.TB }

func (nopTB) Helper()           {}
func (nopTB) Fatal(args ...any) { panic(fmt.Sprint(args...)) }
