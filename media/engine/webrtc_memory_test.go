package engine

import (
	"runtime"
	"testing"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
)

// TestWebRtcTransportMemory checks that an idle WebRtcTransport runs no
// goroutine (its RTCP goroutine is the event loop's timers now) and the
// goroutine stacks a connected WebRtcTransport costs, with its DTLS client (newSink) in the same
// process: pion/dtls's read and handshake goroutines on both ends, the
// client's socket reader and the transport's DTLS goroutine, which
// discards application data until DTLS ends. That goroutine read into a
// 64 KiB buffer on its stack, which grew to 128 KiB: 170 KB of stacks
// per connected transport and its client, 31 KB since. Application
// data, longer than any buffer, is discarded, and the peer's
// close_notify still ends DTLS.
func TestWebRtcTransportMemory(t *testing.T) {
	const n, stackBound = 10, 64 << 10
	var g0 int
	r, opts := vp8Router(t)
	trs := make([]media.WebRtcTransport, n+1)
	for i := range trs {
		if i == 1 { // the worker's event loop runs
			g0 = runtime.NumGoroutine()
		}
		tr, err := r.CreateWebRtcTransport(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		trs[i] = tr
	}
	// Half a goroutine per transport leaves room for goroutines of
	// earlier tests ending meanwhile.
	if g := runtime.NumGoroutine() - g0; g >= n/2 {
		t.Errorf("%d idle WebRtcTransports run %d goroutines, want none", n, g)
	}
	trs = trs[1:]
	_, stack0 := memSample()
	sinks := make([]*sink, n)
	for i, tr := range trs {
		sinks[i] = newSink(t, tr)
	}
	_, stack1 := memSample()
	perTransport := (float64(stack1) - float64(stack0)) / n
	t.Logf("a connected WebRtcTransport and its client: %.0f B of goroutine stacks", perTransport)
	if perTransport > stackBound {
		t.Errorf("a connected WebRtcTransport and its client take %.0f B of goroutine stacks, want at most %d", perTransport, stackBound)
	}

	data := make([]byte, 4000)
	for range 3 {
		if _, err := sinks[0].dtls.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := sinks[0].dtls.Close(); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "DTLS closed by the peer", func() bool { return trs[0].DtlsState() == "closed" })
	runtime.KeepAlive(sinks)
}
