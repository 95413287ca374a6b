package mediatest

import (
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/ropehq/rope/media"
)

// Endpoint is a remote RTP peer on a loopback UDP socket: it sends what
// it is given and records what it receives. It closes with the test.
type Endpoint struct {
	t    testing.TB
	conn *net.UDPConn
	wg   sync.WaitGroup

	// mu guards rtp and rtcp.
	mu   sync.Mutex
	rtp  []*rtp.Packet
	rtcp []rtcp.Packet
}

// NewEndpoint opens an endpoint on 127.0.0.1.
func NewEndpoint(t testing.TB) *Endpoint {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &Endpoint{t: t, conn: conn}
	e.wg.Add(1)
	go e.read()
	t.Cleanup(func() {
		conn.Close()
		e.wg.Wait()
	})
	return e
}

// Port is the endpoint's UDP port.
func (e *Endpoint) Port() uint16 { return e.conn.LocalAddr().(*net.UDPAddr).AddrPort().Port() }

func (e *Endpoint) read() {
	defer e.wg.Done()
	buf := make([]byte, 2000)
	for {
		n, err := e.conn.Read(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		e.mu.Lock()
		if n >= 2 && b[1] >= 192 && b[1] <= 223 {
			if pkts, err := rtcp.Unmarshal(b); err == nil {
				e.rtcp = append(e.rtcp, pkts...)
			}
		} else if p := (&rtp.Packet{}); p.Unmarshal(b) == nil {
			e.rtp = append(e.rtp, p)
		}
		e.mu.Unlock()
	}
}

// Send sends b to a transport's tuple.
func (e *Endpoint) Send(to media.TransportTuple, b []byte) {
	e.t.Helper()
	ip, err := netip.ParseAddr(to.LocalAddress)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.conn.WriteToUDPAddrPort(b, netip.AddrPortFrom(ip, to.LocalPort)); err != nil {
		e.t.Fatal(err)
	}
}

// SendRTCP marshals and sends pkts.
func (e *Endpoint) SendRTCP(to media.TransportTuple, pkts ...rtcp.Packet) {
	e.t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.Send(to, b)
}

// RTP returns the RTP packets received with ssrc.
func (e *Endpoint) RTP(ssrc uint32) []*rtp.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*rtp.Packet
	for _, p := range e.rtp {
		if p.SSRC == ssrc {
			out = append(out, p)
		}
	}
	return out
}

// RTCP returns the RTCP packets received.
func (e *Endpoint) RTCP() []rtcp.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]rtcp.Packet(nil), e.rtcp...)
}

// VP8Sender builds VP8 RTP packets for one SSRC with pion/rtp.
type VP8Sender struct {
	SSRC uint32
	PT   uint8
	seq  uint16
	ts   uint32
}

// Next returns the next packet: a key frame start if key, payload bytes
// derived from the sequence number, size bytes of payload.
func (s *VP8Sender) Next(t testing.TB, key bool, size int) []byte {
	t.Helper()
	payload := make([]byte, size)
	payload[0], payload[1] = 0x10, 0x01 // VP8 descriptor S=1; inter frame
	if key {
		payload[1] = 0x00
	}
	for i := 2; i < size; i++ {
		payload[i] = byte(int(s.seq) * i)
	}
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: s.PT, SequenceNumber: s.seq,
		Timestamp: s.ts, SSRC: s.SSRC}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s.seq++
	s.ts += 3000
	return b
}
