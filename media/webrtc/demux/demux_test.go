package demux

import "testing"

func TestClassify(t *testing.T) {
	t.Parallel()
	pad := func(first, second byte, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = first, second
		return b
	}
	cases := []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, Unknown},
		{"stun binding", pad(0x00, 0x01, 20), STUN},
		{"stun short", pad(0x00, 0x01, 19), Unknown},
		{"stun first byte 3", pad(3, 0, 40), STUN},
		{"zrtp", pad(16, 0, 40), Unknown},
		{"dtls handshake", pad(22, 0xfe, 13), DTLS},
		{"dtls short", pad(22, 0xfe, 12), Unknown},
		{"dtls 63", pad(63, 0, 40), DTLS},
		{"turn channel", pad(64, 0, 40), Unknown},
		{"rtp opus", pad(0x80, 111, 12), RTP},
		{"rtp marker", pad(0x80, 0x80|96, 20), RTP},
		{"rtp short", pad(0x80, 111, 11), Unknown},
		{"rtcp sr", pad(0x80, 200, 28), RTCP},
		{"rtcp rr short", pad(0x81, 201, 4), RTCP},
		{"rtcp pt 223", pad(0x80, 223, 8), RTCP},
		{"rtp pt 224", pad(0x80, 224, 12), RTP},
		{"rtcp too short", pad(0x80, 200, 3), Unknown},
		{"quic", pad(0xc0, 0, 40), Unknown},
	}
	for _, c := range cases {
		if got := Classify(c.in); got != c.want {
			t.Errorf("%s: Classify = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	if RTCP.String() != "rtcp" || Kind(99).String() != "unknown" {
		t.Fatal("bad names")
	}
}

func FuzzDemuxClassify(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1})
	f.Add([]byte{0x80, 200, 0, 6})
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k := Classify(b)
		if k == Unknown {
			return
		}
		first := b[0]
		ok := (k == STUN && first <= 3) || (k == DTLS && first >= 20 && first <= 63) ||
			((k == RTP || k == RTCP) && first >= 128 && first <= 191)
		if !ok {
			t.Fatalf("first byte %d classified %v", first, k)
		}
	})
}
