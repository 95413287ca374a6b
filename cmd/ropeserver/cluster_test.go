package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeclient"
)

func TestClusterConfig(t *testing.T) {
	def, err := parseConfig(nil, func(string) string { return "" })
	if err != nil || def.cluster.enabled || def.cluster.natsURLs != "" || def.cluster.heartbeat != time.Second {
		t.Fatalf("defaults %+v %v", def.cluster, err)
	}
	env := map[string]string{
		"ROPE_CLUSTER": "true", "ROPE_NATS": "nats://a:4222,nats://b:4222", "ROPE_NATS_CREDS": "/x.creds",
		"ROPE_NATS_TOKEN": "t", "ROPE_NATS_LISTEN": "0.0.0.0:4333", "ROPE_SERVER_ID": "eu-1", "ROPE_CLUSTER_HEARTBEAT": "250ms",
	}
	cfg, err := parseConfig(nil, func(k string) string { return env[k] })
	want := clusterConfig{enabled: true, natsURLs: "nats://a:4222,nats://b:4222", natsCreds: "/x.creds", natsToken: "t",
		natsListen: "0.0.0.0:4333", serverID: "eu-1", heartbeat: 250 * time.Millisecond}
	if err != nil || cfg.cluster != want {
		t.Fatalf("from env %+v %v", cfg.cluster, err)
	}
	cfg, err = parseConfig([]string{"-server-id", "eu-2", "-cluster=false"}, func(k string) string { return env[k] })
	if err != nil || cfg.cluster.serverID != "eu-2" || cfg.cluster.enabled {
		t.Fatalf("flags over env %+v %v", cfg.cluster, err)
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"ROPE_CLUSTER_HEARTBEAT": "soon"}[k] }); err == nil {
		t.Fatal("a bad heartbeat accepted")
	}
}

func TestDefaultServerID(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.2:8444/":                  "127-0-0-2-8444",
		"wss://rope.example.net/":               "rope-example-net",
		"ws://[::1]:9000/":                      "1--9000",
		"ws://" + strings.Repeat("h", 80) + "/": strings.Repeat("h", 64),
	} {
		if got := defaultServerID(in); got != want || !registry.ValidID(got) {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestClusterBadSettings(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-nats-listen", "nonsense"}, "-nats-listen"},
		{[]string{"-nats-listen", "127.0.0.1:0", "-server-id", "a.b"}, "ServerID"},
		{[]string{"-nats-listen", "127.0.0.1:0", "-cluster-heartbeat", "1ms"}, "Interval"},
		{[]string{"-nats-listen", "0.0.0.0:0"}, "set -nats-token"},
	} {
		cfg, err := parseConfig(append([]string{"-port", "0", "-media=false", "-cluster"}, c.args...), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		if err := run(context.Background(), cfg, quiet, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: run error %v, want one saying %q", c.args, err, c.want)
		}
	}
}

// member joins the registry over url as a bystander that watches.
func member(t *testing.T, url, id string) (*registry.Registry, <-chan registry.Event) {
	t.Helper()
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	r, err := registry.New(ctxT(t), nc, &registry.Options{ServerID: id, RopeURL: "ws://127.0.0.1:1/", Interval: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r, r.Watch(ctxT(t))
}

// TestClusterPublishesWorkers runs the server in the test's process with
// -cluster on a NATS server of the test's: a bystander sees it join with
// its ROPE URL, sees each worker a client creates and closes, and sees it
// leave when it stops.
func TestClusterPublishesWorkers(t *testing.T) {
	ns, err := natsutil.StartServer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	by, events := member(t, ns.ClientURL(), "bystander")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	cfg, _ := parseConfig([]string{"-port", "0", "-workers", "in-process", "-allow-worker-close", "-max-workers", "4",
		"-cluster", "-nats", ns.ClientURL(), "-server-id", "srv", "-cluster-heartbeat", "50ms"}, func(string) string { return "" })
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, quiet, ready) }()
	url := <-ready
	joined := waitFor(t, events, registry.EventJoined, "srv", nil)
	if joined.Server.RopeURL != url || !slices.Equal(joined.Server.MediaAddresses, []string{"127.0.0.1"}) || joined.Server.MaxWorkers != 4 {
		t.Fatalf("record %+v, want ROPE URL %s", joined.Server.Record, url)
	}

	rc, err := ropeclient.Dial(ctxT(t), url, &ropeclient.Options{Logger: quiet, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	api := mediaclient.New(rc, &mediaclient.Options{Logger: quiet})
	w := must[media.Worker](t)(api.CreateWorker(ctxT(t), nil))
	waitFor(t, events, registry.EventUpdated, "srv", func(s registry.Server) bool {
		return len(s.Workers) == 1 && s.Workers[0].PID == os.Getpid()
	})
	if err := w.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, registry.EventUpdated, "srv", func(s registry.Server) bool { return len(s.Workers) == 0 })

	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, events, registry.EventLeft, "srv", nil)
	if _, ok := by.Server("srv"); ok {
		t.Fatal("srv still in view after it stopped")
	}
}

// waitFor reads events until one of kind for id that satisfies cond.
func waitFor(t *testing.T, ch <-chan registry.Event, kind registry.EventKind, id string, cond func(registry.Server) bool) registry.Event {
	t.Helper()
	timeout := time.After(wait.Timeout)
	for {
		select {
		case e := <-ch:
			if e.Kind == kind && e.Server.ID == id && (cond == nil || cond(e.Server)) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s %s", id, kind)
		}
	}
}

// TestTwoServerProcesses builds ropeserver and runs two: one on
// 127.0.0.2 embedding NATS, one on 127.0.0.3 joining it. Each logs the
// other's arrival, a bystander on the NATS server sees both with their
// ROPE URLs and a worker created on the second, and the first logs the
// second's goodbye when it stops.
func TestTwoServerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cmd/ropeserver")
	}
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	common := []string{"-port", "0", "-cluster", "-cluster-heartbeat", testHeartbeat, "-allow-worker-close"}
	a := startProcess(t, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(t, `msg="ropeserver: embedded NATS listening"`, "url=")
	urlA := a.stdoutValue(t, "ropeserver: listening on ")
	b := startProcess(t, bin, append([]string{"-listen", "127.0.0.3", "-nats", natsURL}, common...)...)
	urlB := b.stdoutValue(t, "ropeserver: listening on ")
	idA, idB := defaultServerID(urlA), defaultServerID(urlB)
	if !strings.HasPrefix(natsURL, "nats://127.0.0.2:") || !strings.HasPrefix(idA, "127-0-0-2-") || !strings.HasPrefix(idB, "127-0-0-3-") {
		t.Fatalf("NATS %s, ids %s %s", natsURL, idA, idB)
	}
	wait.Until(t, "each server logs the other's arrival", func() bool {
		return a.logged(`msg="registry: server joined"`, "peer="+idB) && b.logged(`msg="registry: server joined"`, "peer="+idA)
	})

	by, _ := member(t, natsURL, "bystander")
	wait.Until(t, "the bystander sees both", func() bool {
		sa, okA := by.Server(idA)
		sb, okB := by.Server(idB)
		return okA && okB && sa.RopeURL == urlA && sb.RopeURL == urlB &&
			slices.Equal(sb.MediaAddresses, []string{"127.0.0.3"})
	})
	rc, err := ropeclient.Dial(ctxT(t), urlB, &ropeclient.Options{Logger: quiet, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	w := must[media.Worker](t)(mediaclient.New(rc, &mediaclient.Options{Logger: quiet}).CreateWorker(ctxT(t), nil))
	wait.Until(t, "the bystander sees b's worker process", func() bool {
		s, _ := by.Server(idB)
		return len(s.Workers) == 1 && s.Workers[0].PID == w.PID()
	})
	if err := w.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	if err := b.stop(); err != nil {
		t.Errorf("b after SIGINT: %v", err)
	}
	wait.Until(t, "a logs b's goodbye", func() bool { return a.logged(`msg="registry: server left"`, "peer="+idB) })
	if err := a.stop(); err != nil {
		t.Errorf("a after SIGINT: %v", err)
	}
}

// process is a ropeserver child process whose output the test reads.
type process struct {
	cmd     *exec.Cmd
	drained sync.WaitGroup
	once    sync.Once
	err     error

	// mu guards stdout and stderr.
	mu     sync.Mutex
	stdout []string
	stderr []string
}

func startProcess(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...)}
	outs := []*[]string{&p.stdout, &p.stderr}
	var pipes []io.ReadCloser
	for _, get := range []func() (io.ReadCloser, error){p.cmd.StdoutPipe, p.cmd.StderrPipe} {
		r, err := get()
		if err != nil {
			t.Fatal(err)
		}
		pipes = append(pipes, r)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i, r := range pipes {
		p.drained.Add(1)
		go func() {
			defer p.drained.Done()
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				p.mu.Lock()
				*outs[i] = append(*outs[i], sc.Text())
				p.mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Logf("%s: %v", bin, err)
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%v\nstdout:\n%s\nstderr:\n%s", args, strings.Join(p.stdout, "\n"), strings.Join(p.stderr, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// stdoutValue waits for a stdout line starting with prefix and returns
// the rest.
func (p *process) stdoutValue(t testing.TB, prefix string) string {
	t.Helper()
	var v string
	wait.Until(t, fmt.Sprintf("%q on stdout", prefix), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.stdout {
			if s, ok := strings.CutPrefix(l, prefix); ok {
				v = s
				return true
			}
		}
		return false
	})
	return v
}

// loggedValue waits for a log line containing msg and returns the value
// that follows key in it.
func (p *process) loggedValue(t testing.TB, msg, key string) string {
	t.Helper()
	var v string
	wait.Until(t, fmt.Sprintf("%s in the log", msg), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.stderr {
			if _, rest, ok := strings.Cut(l, key); ok && strings.Contains(l, msg) {
				v, _, _ = strings.Cut(rest, " ")
				return true
			}
		}
		return false
	})
	return v
}

// logged reports whether a stderr line contains every part.
func (p *process) logged(parts ...string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.stderr {
		all := true
		for _, part := range parts {
			all = all && strings.Contains(l, part)
		}
		if all {
			return true
		}
	}
	return false
}

// stop interrupts the process as Ctrl-C does and returns its exit error;
// it kills it if it has not exited in 15 s.
func (p *process) stop() error {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		timer := time.AfterFunc(15*time.Second, func() { _ = p.cmd.Process.Kill() })
		defer timer.Stop()
		p.drained.Wait()
		p.err = p.cmd.Wait()
	})
	return p.err
}

// TestMediaAddresses: servers pipe to each other on the address they
// listen on, not on the one announced to browsers (a NAT's, maybe).
func TestMediaAddresses(t *testing.T) {
	for _, c := range []struct {
		listen, rtcIP, announced string
		want                     []string
	}{
		{"127.0.0.2", "", "", []string{"127.0.0.2"}},
		{"127.0.0.2", "10.0.0.5", "203.0.113.7", []string{"10.0.0.5"}},
		{"10.0.0.5", "", "203.0.113.7", []string{"10.0.0.5"}},
		{"0.0.0.0", "", "203.0.113.7", []string{"203.0.113.7"}},
		{"0.0.0.0", "::", "", nil},
	} {
		cfg := config{listen: c.listen, announcedIP: c.announced}
		cfg.media.rtcIP = c.rtcIP
		if got := mediaAddresses(cfg); !slices.Equal(got, c.want) {
			t.Errorf("listen %s rtc %s announced %s: %v, want %v", c.listen, c.rtcIP, c.announced, got, c.want)
		}
	}
}

// A cluster member lets its endpoint close workers and sets no
// per-connection worker limit, unless told otherwise; others keep the
// defaults.
func TestClusterMemberDefaults(t *testing.T) {
	none := func(string) string { return "" }
	plain, err := parseConfig(nil, none)
	if err != nil || plain.media.allowWorkerClose || plain.media.maxWorkersConn < 0 {
		t.Fatalf("a lone server: close %v, per conn %d, %v", plain.media.allowWorkerClose, plain.media.maxWorkersConn, err)
	}
	member, err := parseConfig([]string{"-cluster"}, none)
	if err != nil || !member.media.allowWorkerClose || member.media.maxWorkersConn >= 0 {
		t.Fatalf("a member: close %v, per conn %d, %v", member.media.allowWorkerClose, member.media.maxWorkersConn, err)
	}
	told, err := parseConfig([]string{"-cluster", "-allow-worker-close=false"}, func(k string) string {
		return map[string]string{"ROPE_MAX_WORKERS_PER_CONN": "4"}[k]
	})
	if err != nil || told.media.allowWorkerClose || told.media.maxWorkersConn != 4 {
		t.Fatalf("a member told otherwise: close %v, per conn %d, %v", told.media.allowWorkerClose, told.media.maxWorkersConn, err)
	}
	endpoint, err := parseConfig([]string{"-cluster-endpoint"}, none)
	if err != nil || endpoint.media.allowWorkerClose {
		t.Fatalf("an endpoint: close %v, %v", endpoint.media.allowWorkerClose, err)
	}
}
