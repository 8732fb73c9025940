package raftmux

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func startMux(t *testing.T) *Mux { return startMuxSniff(t, DefaultSniffTimeout) }

func startMuxSniff(t *testing.T, sniff time.Duration) *Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, nil, nil)
	m.sniff = sniff
	done := make(chan error, 1)
	go func() { done <- m.Serve() }()
	t.Cleanup(func() {
		_ = m.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return m
}

// TestManyGroupsOneListener dials every group of one mux and checks that each
// connection lands on the layer it named, while HTTP is served on the same port.
func TestManyGroupsOneListener(t *testing.T) {
	srv := startMux(t)
	cli := startMux(t)
	const groups = 40
	var layers []*Layer
	for i := 0; i < groups; i++ {
		l, err := srv.Group(fmt.Sprintf("p%d", i))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	if _, err := srv.Group("p0"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate group: %v", err)
	}
	if _, err := srv.Group(""); !errors.Is(err, ErrBadGroupName) {
		t.Fatalf("empty name: %v", err)
	}

	// Each server layer echoes its own name back, prefixed to what it reads.
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func(i int, l *Layer) {
			defer wg.Done()
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					line, err := bufio.NewReader(c).ReadString('\n')
					if err != nil {
						return
					}
					fmt.Fprintf(c, "p%d:%s", i, line)
				}()
			}
		}(i, l)
	}
	t.Cleanup(func() {
		for _, l := range layers {
			_ = l.Close()
		}
		wg.Wait()
	})

	httpSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	})}
	go func() { _ = httpSrv.Serve(srv.HTTPListener()) }()
	t.Cleanup(func() { _ = httpSrv.Close() })

	var cwg sync.WaitGroup
	errs := make(chan error, groups*3)
	for round := 0; round < 3; round++ {
		for i := 0; i < groups; i++ {
			cwg.Add(1)
			go func(i int) {
				defer cwg.Done()
				name := fmt.Sprintf("p%d", i)
				dl, err := cli.Group(fmt.Sprintf("dial-%d-%d", i, round))
				if err != nil {
					errs <- err
					return
				}
				c, err := dl.dialGroup(srv.Addr().String(), name)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "msg%d\n", round)
				got, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
				if want := fmt.Sprintf("%s:msg%d\n", name, round); got != want {
					errs <- fmt.Errorf("got %q want %q", got, want)
				}
			}(i)
		}
		cwg.Wait()
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	resp, err := http.Get("http://" + srv.Addr().String() + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello /x" {
		t.Fatalf("http body %q", body)
	}
}

// dialGroup dials group name (not necessarily l's own name) for the test.
func (l *Layer) dialGroup(addr, name string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write(Header(name)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func TestUnknownGroupAndSilentConnAreClosed(t *testing.T) {
	srv := startMuxSniff(t, 200*time.Millisecond)
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"unknown group", Header("nope")},
		{"zero length name", []byte(Magic + "\x00")},
		{"silent", nil},
		{"short magic then silence", []byte("MR")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			var b [1]byte
			_, err = c.Read(b[:])
			if err == nil {
				t.Fatal("read succeeded; want the mux to close the connection")
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection left open")
			}
		})
	}
}

func TestCloseStopsAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, Addr("10.0.0.1:7000"), nil)
	done := make(chan error, 1)
	go func() { done <- m.Serve() }()
	l, err := m.Group("ctl")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Addr().String(); got != "10.0.0.1:7000" {
		t.Fatalf("advertised addr %q", got)
	}
	acc := make(chan error, 2)
	go func() { _, err := l.Accept(); acc <- err }()
	go func() { _, err := m.HTTPListener().Accept(); acc <- err }()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for i := 0; i < 2; i++ {
		select {
		case err := <-acc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Accept after Close: %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("Accept did not return after Close")
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestAbortRaftConns checks that AbortRaftConns unblocks reads on handed-off
// Raft connections of both directions (what a stalled peer leaves blocked),
// that closed connections are no longer tracked, and that a closed mux
// refuses to dial.
func TestAbortRaftConns(t *testing.T) {
	srv, cli := startMux(t), startMux(t)
	sl, err := srv.Group("g")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cli.Group("g")
	if err != nil {
		t.Fatal(err)
	}
	// A connection closed normally is forgotten.
	c0, err := cl.Dial(raft.ServerAddress(srv.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c0.Close()
	s0, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = s0.Close()
	if n := cli.AbortRaftConns(); n != 0 {
		t.Fatalf("client tracks %d connections after Close, want 0", n)
	}

	out, err := cl.Dial(raft.ServerAddress(srv.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	in, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	blockedRead := func(c net.Conn) chan error {
		errc := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1)) // nobody writes: blocks
			errc <- err
		}()
		return errc
	}
	inErr, outErr := blockedRead(in), blockedRead(out)
	time.Sleep(50 * time.Millisecond)
	if n := srv.AbortRaftConns(); n != 1 {
		t.Fatalf("server aborted %d connections, want 1", n)
	}
	if n := cli.AbortRaftConns(); n != 1 {
		t.Fatalf("client aborted %d connections, want 1", n)
	}
	for name, errc := range map[string]chan error{"inbound": inErr, "outbound": outErr} {
		select {
		case err := <-errc:
			if err == nil {
				t.Fatalf("%s read returned no error", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s read still blocked after AbortRaftConns", name)
		}
	}
	_ = cli.Close()
	if _, err := cl.Dial(raft.ServerAddress(srv.Addr().String()), time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("Dial after Close: %v, want ErrClosed", err)
	}
}
