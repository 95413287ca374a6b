package engine

import (
	"encoding/binary"

	"github.com/ropehq/rope/media/internal/rtppkt"
)

// Receive-side NACK generation (mediasoup NackGenerator, simplified): a
// producer stream that negotiated "nack" remembers sequence numbers that
// went missing and asks the sender for them at once and again on every
// RTCP tick, up to nackMaxRetries times.
const (
	nackMaxMissing = 64  // sequence numbers tracked at once
	nackMaxGap     = 100 // larger jumps are a restart, not a loss
	nackMaxRetries = 10
)

type nackGen struct {
	enabled bool
	n       int
	missing [nackMaxMissing]nackEntry
	// buf holds the NACK packet being built (RTCP path, no allocation).
	buf [12 + 4*nackMaxMissing]byte
}

type nackEntry struct {
	seq     uint16
	retries uint8
}

// onPacket updates the missing set for seq, given the highest sequence
// number before it; it reports whether new numbers went missing.
func (g *nackGen) onPacket(seq, prevMax uint16, started bool) (added bool) {
	if !g.enabled || !started {
		return false
	}
	if rtppkt.SeqLess(prevMax, seq) {
		gap := seq - prevMax
		if gap > nackMaxGap {
			g.n = 0
			return false
		}
		for s := prevMax + 1; s != seq; s++ {
			if g.n == nackMaxMissing {
				copy(g.missing[:], g.missing[1:])
				g.n--
			}
			g.missing[g.n] = nackEntry{seq: s}
			g.n++
			added = true
		}
		return added
	}
	g.remove(seq)
	return false
}

// has reports whether seq is missing (asked for or about to be).
func (g *nackGen) has(seq uint16) bool {
	for i := 0; i < g.n; i++ {
		if g.missing[i].seq == seq {
			return true
		}
	}
	return false
}

func (g *nackGen) remove(seq uint16) {
	for i := 0; i < g.n; i++ {
		if g.missing[i].seq == seq {
			copy(g.missing[i:], g.missing[i+1:g.n])
			g.n--
			return
		}
	}
}

// packet builds a Generic NACK (RFC 4585 6.2.1) for every tracked number
// not yet retried nackMaxRetries times, or returns nil.
func (g *nackGen) packet(sender, media uint32) []byte {
	kept := 0
	for i := 0; i < g.n; i++ {
		if g.missing[i].retries < nackMaxRetries {
			g.missing[i].retries++
			g.missing[kept] = g.missing[i]
			kept++
		}
	}
	g.n = kept
	if g.n == 0 {
		return nil
	}
	b := g.buf[:12]
	for i := 0; i < g.n; {
		pid := g.missing[i].seq
		var blp uint16
		j := i + 1
		for ; j < g.n; j++ {
			d := g.missing[j].seq - pid - 1
			if d >= 16 {
				break
			}
			blp |= 1 << d
		}
		b = binary.BigEndian.AppendUint16(b, pid)
		b = binary.BigEndian.AppendUint16(b, blp)
		i = j
	}
	b[0], b[1] = 0x80|1, 205 // V=2, FMT=1 (generic NACK), PT=RTPFB
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)/4-1))
	binary.BigEndian.PutUint32(b[4:], sender)
	binary.BigEndian.PutUint32(b[8:], media)
	return b
}
