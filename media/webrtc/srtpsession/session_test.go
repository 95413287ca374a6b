package srtpsession

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// pair returns two sessions whose outbound keys are the other's inbound.
func pair(tb testing.TB, profile srtp.ProtectionProfile) (a, b *Session) {
	tb.Helper()
	keyLen, _ := profile.KeyLen()
	saltLen, _ := profile.SaltLen()
	k1, s1 := bytes.Repeat([]byte{1}, keyLen), bytes.Repeat([]byte{2}, saltLen)
	k2, s2 := bytes.Repeat([]byte{3}, keyLen), bytes.Repeat([]byte{4}, saltLen)
	var ca, cb srtp.Config
	ca.Profile, cb.Profile = profile, profile
	ca.Keys = srtp.SessionKeys{LocalMasterKey: k1, LocalMasterSalt: s1, RemoteMasterKey: k2, RemoteMasterSalt: s2}
	cb.Keys = srtp.SessionKeys{LocalMasterKey: k2, LocalMasterSalt: s2, RemoteMasterKey: k1, RemoteMasterSalt: s1}
	a, err := New(&ca)
	if err != nil {
		tb.Fatal(err)
	}
	b, err = New(&cb)
	if err != nil {
		tb.Fatal(err)
	}
	return a, b
}

var profiles = []srtp.ProtectionProfile{
	srtp.ProtectionProfileAeadAes128Gcm,
	srtp.ProtectionProfileAes128CmHmacSha1_80,
	srtp.ProtectionProfileAes128CmHmacSha1_32,
	srtp.ProtectionProfileAeadAes256Gcm,
}

func rtpPacket(tb testing.TB, seq uint16, size int) []byte {
	tb.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: 1234, SSRC: 0xabcdef}}
	p.Payload = bytes.Repeat([]byte{0x42}, size)
	b, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, prof := range profiles {
		a, b := pair(t, prof)
		plain := rtpPacket(t, 1, 200)
		enc, err := a.EncryptRTP(make([]byte, 0, 1500), plain)
		if err != nil {
			t.Fatalf("%s: %v", prof, err)
		}
		if bytes.Equal(enc[12:len(plain)], plain[12:]) {
			t.Fatalf("%s: payload not encrypted", prof)
		}
		got, err := b.DecryptRTP(enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("%s: decrypt %v", prof, err)
		}
		if _, err := b.DecryptRTP(append([]byte(nil), enc...)); err == nil {
			t.Errorf("%s: replayed packet accepted", prof)
		}
		rr, _ := (&rtcp.ReceiverReport{SSRC: 7}).Marshal()
		encRTCP, err := b.EncryptRTCP(make([]byte, 0, 1500), rr)
		if err != nil {
			t.Fatal(err)
		}
		gotRTCP, err := a.DecryptRTCP(encRTCP)
		if err != nil || !bytes.Equal(gotRTCP, rr) {
			t.Fatalf("%s: rtcp %v", prof, err)
		}
		if a.Profile() != prof {
			t.Error("profile")
		}
	}
}

func TestRejectsTampered(t *testing.T) {
	t.Parallel()
	a, b := pair(t, srtp.ProtectionProfileAeadAes128Gcm)
	enc, _ := a.EncryptRTP(make([]byte, 0, 1500), rtpPacket(t, 9, 100))
	enc[len(enc)-1] ^= 1
	if _, err := b.DecryptRTP(enc); err == nil {
		t.Fatal("tampered packet accepted")
	}
	if _, err := a.EncryptRTP(make([]byte, 0, 10), rtpPacket(t, 10, 100)); !errors.Is(err, ErrBufferTooSmall) {
		t.Fatalf("small buffer: %v", err)
	}
}

// BenchmarkSRTP measures one encrypt plus one in-place decrypt of an RTP
// packet with a 1,000-byte payload, the per-packet SRTP cost of forwarding.
func BenchmarkSRTP(b *testing.B) {
	for _, prof := range profiles[:2] {
		b.Run(prof.String(), func(b *testing.B) {
			tx, rx := pair(b, prof)
			plain := rtpPacket(b, 0, 1000)
			buf := make([]byte, 0, 1500)
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			seq := uint16(0)
			for b.Loop() {
				seq++
				plain[2], plain[3] = byte(seq>>8), byte(seq)
				enc, err := tx.EncryptRTP(buf, plain)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rx.DecryptRTP(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDemuxSRTP feeds arbitrary packets to in-place decryption: it must
// fail cleanly on anything not protected with the session's keys.
func FuzzDemuxSRTP(f *testing.F) {
	a, b := pair(f, srtp.ProtectionProfileAeadAes128Gcm)
	enc, _ := a.EncryptRTP(make([]byte, 0, 1500), rtpPacket(f, 1, 50))
	f.Add(enc)
	f.Add([]byte{0x80, 200, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0, 0, 1})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		_, _ = b.DecryptRTP(append([]byte(nil), pkt...))
		_, _ = b.DecryptRTCP(append([]byte(nil), pkt...))
	})
}

// TestEncryptRTPBatch protects a batch under one lock: each packet
// decrypts to its plain text, in order; a too small buffer stops the
// batch there; warm batches do not allocate (so not parallel).
func TestEncryptRTPBatch(t *testing.T) {
	for _, prof := range profiles {
		a, b := pair(t, prof)
		var pkts, dst [][]byte
		for i := range 8 {
			pkts = append(pkts, rtpPacket(t, uint16(100+i), 100+i))
			dst = append(dst, make([]byte, 0, 1500))
		}
		n, err := a.EncryptRTPBatch(dst, pkts)
		if n != len(pkts) || err != nil {
			t.Fatalf("%s: %d, %v", prof, n, err)
		}
		for i, enc := range dst {
			plain, err := b.DecryptRTP(bytes.Clone(enc))
			if err != nil || !bytes.Equal(plain, pkts[i]) {
				t.Fatalf("%s: packet %d: %v", prof, i, err)
			}
		}
		// In place: dst is pkts.
		inPlace, want := make([][]byte, len(pkts)), make([][]byte, len(pkts))
		for i := range pkts {
			want[i] = rtpPacket(t, uint16(300+i), 100+i)
			inPlace[i] = append(make([]byte, 0, 1500), want[i]...)
		}
		if n, err := a.EncryptRTPBatch(inPlace, inPlace); n != len(pkts) || err != nil {
			t.Fatalf("%s: in place: %d, %v", prof, n, err)
		}
		for i, enc := range inPlace {
			plain, err := b.DecryptRTP(enc)
			if err != nil || !bytes.Equal(plain, want[i]) {
				t.Fatalf("%s: in place: packet %d: %v", prof, i, err)
			}
		}
		dst[3] = make([]byte, 0, len(pkts[3]))
		if n, err := a.EncryptRTPBatch(dst, pkts); n != 3 || !errors.Is(err, ErrBufferTooSmall) {
			t.Fatalf("%s: small buffer: %d, %v", prof, n, err)
		}
		dst[3] = make([]byte, 0, 1500)
		seq := uint16(400)
		allocs := testing.AllocsPerRun(50, func() {
			for i := range pkts {
				pkts[i][2], pkts[i][3] = byte(seq>>8), byte(seq)
				seq++
				dst[i] = dst[i][:0]
			}
			if _, err := a.EncryptRTPBatch(dst, pkts); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 && !raceEnabled {
			t.Errorf("%s: %v allocs per batch", prof, allocs)
		}
	}
}
