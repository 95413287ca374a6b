package ortc

import (
	"strings"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc/internal/h264"
)

// isRtx reports whether mime is an RTX codec ("audio/rtx", "video/rtx").
func isRtx(mime string) bool {
	i := strings.IndexByte(mime, '/')
	return i > 0 && strings.EqualFold(mime[i+1:], "rtx")
}

// isMediaCodec reports whether mime carries media rather than repair or
// redundancy (RTX, RED, FEC).
func isMediaCodec(mime string) bool {
	i := strings.IndexByte(mime, '/')
	if i < 0 {
		return false
	}
	switch strings.ToLower(mime[i+1:]) {
	case "rtx", "red", "ulpfec", "flexfec", "x-ulpfec", "flexfec-03":
		return false
	}
	return true
}

// codecView is what codec matching reads of a capability or parameters.
type codecView struct {
	mimeType  string
	clockRate int
	channels  int
	params    media.Parameters
}

func capView(c *media.RtpCodecCapability) codecView {
	return codecView{c.MimeType, c.ClockRate, c.Channels, c.Parameters}
}

func paramView(c *media.RtpCodecParameters) codecView {
	return codecView{c.MimeType, c.ClockRate, c.Channels, c.Parameters}
}

// matchCodecs is mediasoup's codec matching. Loose matching compares
// mime type, clock rate, channels and the multiopus stream layout; strict
// matching also compares the format parameters that make two codecs
// incompatible (H264 packetization-mode and profile, VP9 profile-id,
// H265 profile). When strict matches an H264 pair, it also returns the
// negotiated profile-level-id for a ("" when both omit it).
func matchCodecs(a, b codecView, strict bool) (ok bool, answerPLID string) {
	mime := strings.ToLower(a.mimeType)
	if mime != strings.ToLower(b.mimeType) || a.clockRate != b.clockRate || a.channels != b.channels {
		return false, ""
	}
	switch mime {
	case "audio/multiopus":
		return sameParam(a.params, b.params, "num_streams") && sameParam(a.params, b.params, "coupled_streams"), ""
	case "video/h264", "video/h264-svc":
		if strict {
			return matchH264(a.params, b.params)
		}
	case "video/vp9":
		if strict {
			return media.ValuesEqual(paramOrZero(a.params, "profile-id"), paramOrZero(b.params, "profile-id")), ""
		}
	case "video/h265":
		if strict {
			return matchH265(a.params, b.params), ""
		}
	}
	return true, ""
}

func matchH264(a, b media.Parameters) (bool, string) {
	if !media.ValuesEqual(paramOrZero(a, "packetization-mode"), paramOrZero(b, "packetization-mode")) {
		return false, ""
	}
	ha, hb := h264Params(a), h264Params(b)
	if !h264.SameProfile(ha, hb) {
		return false, ""
	}
	plid, err := h264.AnswerProfileLevelID(ha, hb)
	if err != nil {
		return false, ""
	}
	return true, plid
}

// h264Params extracts what the profile-level-id logic needs. A value
// that is absent, "" or 0 counts as absent, as mediasoup's truthiness
// test does.
func h264Params(p media.Parameters) h264.Params {
	plid, _ := p.Text("profile-level-id")
	present := plid != "" && plid != "0"
	asym := false
	if v, ok := p["level-asymmetry-allowed"]; ok {
		asym = media.ValuesEqual(v, 1) || v == "1" || v == true
	}
	return h264.Params{ProfileLevelID: plid, Present: present, LevelAsymmetryAllowed: asym}
}

// matchH265 compares the H265 profile (RFC 7798 section 7.2.2 defaults:
// profile-space 0, profile-id 1, tier-flag 0); levels may differ.
// mediasoup has no H265 rule; this follows libwebrtc.
func matchH265(a, b media.Parameters) bool {
	for _, k := range []struct {
		key string
		def int
	}{{"profile-space", 0}, {"profile-id", 1}, {"tier-flag", 0}} {
		if paramIntOr(a, k.key, k.def) != paramIntOr(b, k.key, k.def) {
			return false
		}
	}
	return true
}

// paramIntOr reads an integer parameter given as a number or a numeric
// string, def when absent or unreadable.
func paramIntOr(p media.Parameters, key string, def int) int {
	if v, ok := p.Int(key); ok {
		return v
	}
	if s, ok := p.String(key); ok {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' || n > 1<<20 {
				return def
			}
			n = n*10 + int(c-'0')
		}
		if s != "" {
			return n
		}
	}
	return def
}

// sameParam is JavaScript's a[key] === b[key] with absent == absent.
func sameParam(a, b media.Parameters, key string) bool {
	va, okA := a[key]
	vb, okB := b[key]
	if !okA || !okB {
		return okA == okB
	}
	return media.ValuesEqual(va, vb)
}

// paramOrZero is JavaScript's (params[key] || 0): absent, "", 0 and
// false read as 0.
func paramOrZero(p media.Parameters, key string) any {
	v, ok := p[key]
	if !ok || v == "" || v == false {
		return 0
	}
	if n, isNum := media.NumberValue(v); isNum && n == 0 {
		return 0
	}
	return v
}
