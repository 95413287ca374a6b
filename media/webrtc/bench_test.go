package webrtc_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/ice"
	"github.com/ropehq/rope/media/webrtc/listener"
	"github.com/ropehq/rope/media/webrtc/srtpsession"
)

// nullLink discards what is sent.
type nullLink struct{ n int }

func (l *nullLink) Send(b []byte, _ netip.AddrPort) error { l.n += len(b); return nil }

// benchTransport returns a transport with a validated tuple and SRTP keys,
// and the peer's session (whose outbound keys are the transport's inbound).
func benchTransport(b *testing.B, onRTP func([]byte)) (*rope.Server, *rope.Transport, ice.Tuple, *nullLink, *srtpsession.Session) {
	link := &nullLink{}
	srv, tr, tup, peer := keyedTransport(b, onRTP, link)
	return srv, tr, tup, link, peer
}

// keyedTransport returns a transport whose selected tuple sends on link,
// with SRTP keys, and the peer's session (whose outbound keys are the
// transport's inbound).
func keyedTransport(b testing.TB, onRTP func([]byte), link listener.Link) (*rope.Server, *rope.Transport, ice.Tuple, *srtpsession.Session) {
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{udpInfo()}, Logger: discard()})
	must(b, err)
	tr, err := srv.NewTransport(&rope.TransportOptions{OnRTP: onRTP})
	must(b, err)
	p := tr.Parameters().ICEParameters
	tup := ice.Tuple{Protocol: ice.UDP, Local: netip.MustParseAddrPort("127.0.0.1:1"), Remote: netip.MustParseAddrPort("127.0.0.1:2")}
	srv.HandlePacket(bindingRequest(b, p.UsernameFragment+":bench", p.Password, true), tup, link)
	if tr.ICEState() != ice.StateCompleted {
		b.Fatalf("ICE %v", tr.ICEState())
	}
	k1, s1 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 12)
	k2, s2 := bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 12)
	prof := srtp.ProtectionProfileAeadAes128Gcm
	local, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
		LocalMasterKey: k1, LocalMasterSalt: s1, RemoteMasterKey: k2, RemoteMasterSalt: s2}})
	must(b, err)
	peer, err := srtpsession.New(&srtp.Config{Profile: prof, Keys: srtp.SessionKeys{
		LocalMasterKey: k2, LocalMasterSalt: s2, RemoteMasterKey: k1, RemoteMasterSalt: s1}})
	must(b, err)
	tr.SetSRTPForTest(local)
	return srv, tr, tup, peer
}

func benchPacket(b *testing.B) []byte {
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1234},
		Payload: bytes.Repeat([]byte{7}, 1000)}).Marshal()
	must(b, err)
	return pkt
}

// BenchmarkTransportReceiveRTP measures the inbound media path per packet:
// routing by tuple, RFC 7983 demux, in-place SRTP decrypt and the OnRTP
// hand-off (the peer's encryption is excluded from the timing).
func BenchmarkTransportReceiveRTP(b *testing.B) {
	got := 0
	srv, _, tup, link, peer := benchTransport(b, func(p []byte) { got += len(p) })
	defer srv.Close()
	plain := benchPacket(b)
	const batch = 256
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, 0, 1500)
	}
	seq := uint16(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		b.StopTimer()
		n := min(batch, b.N-i)
		for j := range n {
			seq++
			plain[2], plain[3] = byte(seq>>8), byte(seq)
			enc, err := peer.EncryptRTP(bufs[j][:0], plain)
			must(b, err)
			bufs[j] = enc
		}
		b.StartTimer()
		for j := range n {
			srv.HandlePacket(bufs[j], tup, link)
		}
	}
	b.StopTimer()
	if got == 0 {
		b.Fatal("no packet delivered")
	}
}

// BenchmarkTransportWriteRTP measures the outbound media path per packet:
// SRTP encrypt into a pooled buffer and send on the selected tuple.
func BenchmarkTransportWriteRTP(b *testing.B) {
	srv, tr, _, link, _ := benchTransport(b, nil)
	defer srv.Close()
	plain := benchPacket(b)
	seq := uint16(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		seq++
		plain[2], plain[3] = byte(seq>>8), byte(seq)
		if err := tr.WriteRTP(plain); err != nil {
			b.Fatal(err)
		}
	}
	if link.n == 0 {
		b.Fatal("nothing sent")
	}
}

// BenchmarkTransportWriteRTPBatch is BenchmarkTransportWriteRTP with
// batches of 16 packets (WriteRTPBatch), per packet.
func BenchmarkTransportWriteRTPBatch(b *testing.B) {
	link := &batchLink{sizes: make([]int, 0, 1<<20)}
	srv, tr, _, _ := keyedTransport(b, nil, link)
	defer srv.Close()
	pkts := make([][]byte, 16)
	for i := range pkts {
		pkts[i] = benchPacket(b)
	}
	seq := uint16(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkts[0])))
	for i := 0; i < b.N; i += len(pkts) {
		for _, p := range pkts {
			seq++
			p[2], p[3] = byte(seq>>8), byte(seq)
		}
		if err := tr.WriteRTPBatch(pkts); err != nil {
			b.Fatal(err)
		}
		link.sizes = link.sizes[:0]
	}
}

// BenchmarkTransportWriteRTPBatchInPlace is BenchmarkTransportWriteRTPBatch
// with the packets encrypted in their own buffers (as consumers' queues
// are), per packet; the copy of the plain packet into the buffer, which a
// consumer makes anyway, is included.
func BenchmarkTransportWriteRTPBatchInPlace(b *testing.B) {
	link := &batchLink{sizes: make([]int, 0, 1<<20)}
	srv, tr, _, _ := keyedTransport(b, nil, link)
	defer srv.Close()
	plain := benchPacket(b)
	bufs := make([][]byte, 16)
	pkts := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = make([]byte, 0, 1500)
	}
	seq := uint16(0)
	b.ReportAllocs()
	b.SetBytes(int64(len(plain)))
	for i := 0; i < b.N; i += len(pkts) {
		for j := range pkts {
			seq++
			plain[2], plain[3] = byte(seq>>8), byte(seq)
			pkts[j] = append(bufs[j][:0], plain...)
		}
		if err := tr.WriteRTPBatchInPlace(pkts); err != nil {
			b.Fatal(err)
		}
		link.sizes = link.sizes[:0]
	}
}
