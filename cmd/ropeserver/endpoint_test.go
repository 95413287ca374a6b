package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/ropeclient"
)

// buildServer builds this command for a process test.
func buildServer(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs cmd/ropeserver")
	}
	bin := filepath.Join(t.TempDir(), "ropeserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// kill ends the process as a crash does (SIGKILL): no goodbye.
func (p *process) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		p.drained.Wait()
		p.err = p.cmd.Wait()
	})
}

// observe returns an observer of the cluster at natsURL.
func observe(t testing.TB, natsURL string) *registry.Registry {
	t.Helper()
	nc, err := natsutil.Connect(&natsutil.ConnectOptions{URLs: []string{natsURL}, ReconnectWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	r, err := registry.New(ctxT(t), nc, &registry.Options{Observer: true, Interval: 100 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// serverOf names the server (by id) whose record lists a worker of that
// process id.
func serverOf(view *registry.Registry, pid int) string {
	for _, s := range view.Servers() {
		for _, w := range s.Workers {
			if w.PID == pid {
				return s.ID
			}
		}
	}
	return ""
}

// TestClusterEndpoint runs two media servers (127.0.0.2 embedding NATS,
// 127.0.0.3) and a cluster endpoint (127.0.0.4) as processes of this
// binary. A Go program on the endpoint, through the remote media client,
// gets workers on both servers, pipes a producer from one to the other
// and receives its RTP; when the second server is killed its worker dies,
// the pipe ends with producerclose, and the next worker lands on the
// survivor.
func TestClusterEndpoint(t *testing.T) {
	bin := buildServer(t)
	common := []string{"-port", "0", "-cluster", "-cluster-heartbeat", testHeartbeat, "-workers", "in-process"}
	a := startProcess(t, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(t, `msg="ropeserver: embedded NATS listening"`, "url=")
	b := startProcess(t, bin, append([]string{"-listen", "127.0.0.3", "-nats", natsURL}, common...)...)
	e := startProcess(t, bin, append([]string{"-listen", "127.0.0.4", "-nats", natsURL, "-cluster-endpoint"}, common...)...)
	idA := defaultServerID(a.stdoutValue(t, "ropeserver: listening on "))
	idB := defaultServerID(b.stdoutValue(t, "ropeserver: listening on "))
	urlE := e.stdoutValue(t, "ropeserver: listening on ")
	wait.Until(t, "the endpoint sees both servers", func() bool {
		return e.logged(`msg="registry: server joined"`, "peer="+idA) && e.logged(`msg="registry: server joined"`, "peer="+idB)
	})
	view := observe(t, natsURL)

	api, err := mediaclient.Dial(ctxT(t), urlE, &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx := ctxT(t)
	w1 := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	w2 := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	var on [2]string
	wait.Until(t, "each worker in a server's record", func() bool {
		on = [2]string{serverOf(view, w1.PID()), serverOf(view, w2.PID())}
		return on[0] != "" && on[1] != ""
	})
	if on[0] == on[1] {
		t.Fatalf("both workers on %s: placement did not spread", on[0])
	}
	if on[0] != idA {
		w1, w2 = w2, w1 // w1 on A, w2 on B
	}
	r1 := must[media.Router](t)(w1.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	r2 := must[media.Router](t)(w2.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	src, dst := mediatest.NewEndpoint(t), mediatest.NewEndpoint(t)
	in := plainTo(t, r1, src)
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(4444)}))
	if _, err := r1.PipeToRouter(ctx, &media.PipeToRouterOptions{ProducerID: prod.ID(), Router: r2}); err != nil {
		t.Fatal(err)
	}
	out := plainTo(t, r2, dst)
	c := must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	vp8 := &mediatest.VP8Sender{SSRC: 4444, PT: 101}
	for i := range 10 {
		src.Send(in.Tuple(), vp8.Next(t, i == 0, 500))
	}
	ssrc := c.RtpParameters().Encodings[0].SSRC
	wait.Until(t, "RTP from server A at a consumer on server B", func() bool { return len(dst.RTP(ssrc)) == 10 })
	// A viewer on server A too, which must go on receiving when B dies.
	local := mediatest.NewEndpoint(t)
	onA := must[media.Consumer](t)(plainTo(t, r1, local).Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	onAssrc := onA.RtpParameters().Encodings[0].SSRC
	for range 5 {
		src.Send(in.Tuple(), vp8.Next(t, true, 500))
	}
	wait.Until(t, "RTP at the viewer on server A", func() bool { return len(local.RTP(onAssrc)) >= 5 })

	died := make(chan error, 1)
	w2.OnDied(func(err error) { died <- err })
	b.kill()
	select {
	case err := <-died:
		if err == nil || !strings.Contains(err.Error(), idB) {
			t.Fatalf("died: %v, want the loss of %s", err, idB)
		}
	case <-ctx.Done():
		t.Fatal("the killed server's worker never died at the endpoint")
	}
	wait.Until(t, "the consumer on the killed server closed", c.Closed)
	if prod.Closed() {
		t.Fatal("the producer on the survivor closed")
	}
	before := len(local.RTP(onAssrc))
	for range 5 {
		src.Send(in.Tuple(), vp8.Next(t, false, 500))
	}
	wait.Until(t, "RTP at the viewer on server A after B died", func() bool { return len(local.RTP(onAssrc)) >= before+5 })
	w3 := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	wait.Until(t, "the new worker in a record", func() bool { return serverOf(view, w3.PID()) != "" })
	if got := serverOf(view, w3.PID()); got != idA {
		t.Fatalf("new worker on %s, want the survivor %s", got, idA)
	}
}

func plainTo(t testing.TB, r media.Router, e *mediatest.Endpoint) media.PlainTransport {
	t.Helper()
	tr := must[media.PlainTransport](t)(r.CreatePlainTransport(ctxT(t), &media.PlainTransportOptions{}))
	if err := tr.Connect(ctxT(t), &media.PlainTransportConnectOptions{IP: "127.0.0.1", Port: e.Port()}); err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestClusterEndpointMafalda stacks the endpoint over Mafalda over the
// cluster: a Remote Mafalda client's room on the endpoint spans both
// servers' workers, and the producer's RTP reaches a viewer on each.
func TestClusterEndpointMafalda(t *testing.T) {
	bin := buildServer(t)
	common := []string{"-port", "0", "-cluster", "-cluster-heartbeat", testHeartbeat, "-workers", "in-process"}
	a := startProcess(t, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(t, `msg="ropeserver: embedded NATS listening"`, "url=")
	b := startProcess(t, bin, append([]string{"-listen", "127.0.0.3", "-nats", natsURL}, common...)...)
	e := startProcess(t, bin, append([]string{"-listen", "127.0.0.4", "-nats", natsURL, "-cluster-endpoint",
		"-media-mode", "mafalda", "-max-consumers-per-worker", "1"}, common...)...)
	idA := defaultServerID(a.stdoutValue(t, "ropeserver: listening on "))
	idB := defaultServerID(b.stdoutValue(t, "ropeserver: listening on "))
	urlE := e.stdoutValue(t, "ropeserver: listening on ")
	wait.Until(t, "the endpoint sees both servers", func() bool {
		return e.logged(`msg="registry: server joined"`, "peer="+idA) && e.logged(`msg="registry: server joined"`, "peer="+idB)
	})
	view := observe(t, natsURL)

	mc, err := mafaldaclient.Dial(ctxT(t), urlE, &mafaldaclient.Options{Media: &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	ctx := ctxT(t)
	two := 2
	room := must[mafalda.Router](t)(mc.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{MaxWorkers: &two,
		RouterOptions: media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}}))
	src := mediatest.NewEndpoint(t)
	in := plainTo(t, room, src)
	prod := must[media.Producer](t)(in.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(4444)}))
	var viewers []*mediatest.Endpoint
	var consumers []media.Consumer
	for range 2 {
		dst := mediatest.NewEndpoint(t)
		out := plainTo(t, room, dst)
		consumers = append(consumers, must[media.Consumer](t)(out.Consume(ctx, &media.ConsumerOptions{ProducerID: prod.ID(), RtpCapabilities: mediatest.EndpointCaps()})))
		viewers = append(viewers, dst)
	}
	dump := must[*mafalda.Dump](t)(mc.Dump(ctx))
	servers := map[string]bool{}
	wait.Until(t, "the room's workers in the servers' records", func() bool {
		clear(servers)
		for _, w := range dump.Workers {
			servers[serverOf(view, w.PID)] = true
		}
		return !servers[""]
	})
	if !servers[idA] || !servers[idB] {
		t.Fatalf("the room's workers are on %v, want both %s and %s", servers, idA, idB)
	}
	vp8 := &mediatest.VP8Sender{SSRC: 4444, PT: 101}
	for i := range 10 {
		src.Send(in.Tuple(), vp8.Next(t, i == 0, 500))
	}
	for i, dst := range viewers {
		ssrc := consumers[i].RtpParameters().Encodings[0].SSRC
		wait.Until(t, "RTP at each viewer", func() bool { return len(dst.RTP(ssrc)) == 10 })
	}
}

// testHeartbeat is the process tests' -cluster-heartbeat: a server is lost
// after three missed (1.5 s), long enough that a server starved of CPU by
// a loaded -race run is not lost while alive.
const testHeartbeat = "500ms"
