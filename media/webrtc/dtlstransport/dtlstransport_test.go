package dtlstransport

import (
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

func TestFingerprints(t *testing.T) {
	t.Parallel()
	c, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Fingerprints) != len(Algorithms) {
		t.Fatalf("fingerprints %v", c.Fingerprints)
	}
	for _, fp := range c.Fingerprints {
		if fp.Value != strings.ToUpper(fp.Value) || strings.Count(fp.Value, ":") < 19 {
			t.Errorf("fingerprint %+v", fp)
		}
		if err := Verify(c.TLS.Certificate[0], fp); err != nil {
			t.Errorf("verify %s: %v", fp.Algorithm, err)
		}
		lower := Fingerprint{Algorithm: strings.ToUpper(fp.Algorithm), Value: strings.ToLower(fp.Value)}
		if err := Verify(c.TLS.Certificate[0], lower); err != nil {
			t.Errorf("verify case-insensitive %s: %v", fp.Algorithm, err)
		}
	}
	bad := c.Fingerprints[2]
	bad.Value = strings.Replace(bad.Value, bad.Value[:2], "00", 1)
	if bad.Value == c.Fingerprints[2].Value {
		bad.Value = "11" + bad.Value[2:]
	}
	if err := Verify(c.TLS.Certificate[0], bad); !errors.Is(err, ErrFingerprintMismatch) {
		t.Errorf("bad fingerprint: %v", err)
	}
	if err := Verify(nil, Fingerprint{Algorithm: "md5", Value: "00"}); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Errorf("md5: %v", err)
	}
	if _, err := NewCertificate(c.TLS); err != nil {
		t.Fatal(err)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	for remote, want := range map[Role]Role{RoleClient: RoleServer, RoleServer: RoleClient, RoleAuto: RoleClient, "": RoleClient} {
		if got := LocalRole(remote); got != want {
			t.Errorf("LocalRole(%q) = %q, want %q", remote, got, want)
		}
	}
	if err := Role("master").Validate(); !errors.Is(err, ErrInvalidRole) {
		t.Errorf("Validate: %v", err)
	}
	if StateFailed.String() != "failed" || State(9).String() != "unknown" {
		t.Error("state names")
	}
}

func TestPacketConnDeadline(t *testing.T) {
	t.Parallel()
	pc := NewPacketConn(peer{}, func([]byte) error { return nil })
	defer pc.Close()
	_ = pc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	start := time.Now()
	if _, _, err := pc.ReadFrom(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("deadline ignored")
	}
	_ = pc.SetReadDeadline(time.Time{})
	if !pc.Push([]byte("abc")) {
		t.Fatal("push")
	}
	buf := make([]byte, 10)
	n, addr, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "abc" || addr != (peer{}) {
		t.Fatalf("read %q %v %v", buf[:n], addr, err)
	}
	_ = pc.Close()
	if _, _, err := pc.ReadFrom(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if pc.Push([]byte("x")) {
		t.Fatal("push after close")
	}
	if _, err := pc.WriteTo([]byte("x"), nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

type peer struct{}

func (peer) Network() string { return "test" }
func (peer) String() string  { return "peer" }

// pipe connects two PacketConns back to back.
func pipe() (a, b *PacketConn) {
	var pa, pb *PacketConn
	pa = NewPacketConn(peer{}, func(p []byte) error { pb.Push(p); return nil })
	pb = NewPacketConn(peer{}, func(p []byte) error { pa.Push(p); return nil })
	return pa, pb
}

func handshakePair(t *testing.T, clientWants, serverWants func(c, s *Certificate) Fingerprint) (errC, errS error) {
	t.Helper()
	cc, _ := GenerateCertificate()
	sc, _ := GenerateCertificate()
	pa, pb := pipe()
	defer pa.Close()
	defer pb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		wg           sync.WaitGroup
		connC, connS *dtls.Conn
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		connC, errC = Handshake(ctx, pa, peer{}, Config{Role: RoleClient, Certificate: cc, RemoteFingerprint: clientWants(cc, sc)})
		if errC == nil {
			_, errC = ExportSRTP(connC, RoleClient)
		}
	}()
	go func() {
		defer wg.Done()
		connS, errS = Handshake(ctx, pb, peer{}, Config{Role: RoleServer, Certificate: sc, RemoteFingerprint: serverWants(cc, sc)})
		if errS != nil {
			_ = pb.Close() // a failed server stops answering
		}
	}()
	wg.Wait()
	for _, c := range []*dtls.Conn{connC, connS} {
		if c != nil {
			_ = c.Close()
		}
	}
	return errC, errS
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	errC, errS := handshakePair(t,
		func(_, s *Certificate) Fingerprint { return s.Fingerprints[2] },
		func(c, _ *Certificate) Fingerprint { return c.Fingerprints[4] })
	if errC != nil || errS != nil {
		t.Fatalf("client %v, server %v", errC, errS)
	}
}

func TestHandshakeWrongFingerprint(t *testing.T) {
	t.Parallel()
	_, errS := handshakePair(t,
		func(_, s *Certificate) Fingerprint { return s.Fingerprints[2] },
		func(_, s *Certificate) Fingerprint { return s.Fingerprints[2] }) // not the client's
	if !errors.Is(errS, ErrFingerprintMismatch) {
		t.Fatalf("server error %v, want fingerprint mismatch", errS)
	}
}

// TestPacketConnMemory: a PacketConn with nothing queued holds a few
// hundred bytes; its queue of 128 records was a channel made with it (3
// KiB on every WebRtcTransport). Records still come out in order, up to
// the queue's bound.
func TestPacketConnMemory(t *testing.T) {
	const n = 200
	live := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	conns := make([]*PacketConn, n)
	heap0 := live()
	for i := range conns {
		conns[i] = NewPacketConn(peer{}, func([]byte) error { return nil })
	}
	per := (float64(live()) - float64(heap0)) / n
	t.Logf("a PacketConn: %.0f B of heap", per)
	if per > 1<<10 {
		t.Errorf("a PacketConn takes %.0f B of heap, want at most 1 KiB", per)
	}
	pc := conns[0]
	for i := range queueLen + 1 {
		if ok := pc.Push([]byte{byte(i)}); ok != (i < queueLen) {
			t.Fatalf("push %d: %v", i, ok)
		}
	}
	buf := make([]byte, 4)
	for i := range queueLen {
		if n, _, err := pc.ReadFrom(buf); err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("read %d: %x, %v", i, buf[:n], err)
		}
	}
	for _, c := range conns {
		_ = c.Close()
	}
}
