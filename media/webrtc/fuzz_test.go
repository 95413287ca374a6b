package webrtc_test

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"testing"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// sink is a listener.Link that remembers what was sent.
type sink struct {
	mu   sync.Mutex
	sent [][]byte
}

func (s *sink) Send(b []byte, _ netip.AddrPort) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) < 64 {
		s.sent = append(s.sent, append([]byte(nil), b...))
	}
	return nil
}

// FuzzDemuxServer feeds arbitrary datagrams, split in pieces by a one-byte
// length prefix, to a WebRtcServer from a known tuple (validated by a real
// check, so DTLS and RTP paths are reached) and from a stranger. Nothing
// may panic or be answered to the stranger, and the transport must still
// answer a valid check afterwards.
func FuzzDemuxServer(f *testing.F) {
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{udpInfo()}, Logger: discard()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	tr, err := srv.NewTransport(&rope.TransportOptions{OnRTP: func([]byte) {}, OnRTCP: func([]byte) {}})
	if err != nil {
		f.Fatal(err)
	}
	p := tr.Parameters().ICEParameters
	valid := bindingRequest(f, p.UsernameFragment+":fuzz", p.Password, true)
	known := ice.Tuple{Protocol: ice.UDP, Local: netip.MustParseAddrPort("127.0.0.1:1"), Remote: netip.MustParseAddrPort("127.0.0.1:2")}
	strangerTuple := known
	strangerTuple.Remote = netip.MustParseAddrPort("127.0.0.1:3")
	var link sink
	srv.HandlePacket(append([]byte(nil), valid...), known, &link)
	if len(link.sent) != 1 {
		f.Fatal("valid check not answered")
	}

	f.Add(append([]byte{byte(len(valid))}, valid...))
	f.Add([]byte{13, 22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{12, 0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0x80, 200, 0, 1, 0, 0, 0, 1})
	f.Add([]byte("\x05hello\x00\x03abc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var stranger sink
		for len(data) > 0 {
			n := int(data[0])
			data = data[1:]
			n = min(n, len(data))
			pkt := data[:n]
			data = data[n:]
			srv.HandlePacket(append([]byte(nil), pkt...), known, &link)
			srv.HandlePacket(append([]byte(nil), pkt...), strangerTuple, &stranger)
		}
		for _, b := range stranger.sent {
			// Only a check that authenticates may be answered.
			if ufrag := ice.LocalUfrag(b); len(b) < 20 || binary.BigEndian.Uint16(b[0:2]) != 0x0101 || ufrag != nil {
				t.Fatalf("stranger answered with %x", b)
			}
		}
	})
}
