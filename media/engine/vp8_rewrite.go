package engine

import (
	"github.com/ropehq/rope/media/internal/rtppkt"
	"github.com/ropehq/rope/media/internal/vp8"
)

// vp8Offset adds offsets to the VP8 picture ID and TL0PICIDX of RTP packet
// b in place: a retransmission goes out with the values its first sending
// had (rtppkt.SeqInfo).
func vp8Offset(b []byte, picOffset uint16, tl0Offset uint8) {
	h, ok := rtppkt.Parse(b)
	if !ok {
		return
	}
	p := b[h.HeaderLen : len(b)-h.PaddingLen]
	var d vp8.Descriptor
	if vp8.Parse(p, &d) != nil {
		return
	}
	d.Write(p, d.PictureID+picOffset, d.TL0PicIdx+tl0Offset)
}
