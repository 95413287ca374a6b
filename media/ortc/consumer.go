package ortc

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ropehq/rope/media"
)

// CanConsume reports whether an endpoint with the given RTP capabilities
// can receive a producer with the given consumable parameters: its first
// codec that strictly matches one of caps must be a media codec. caps is
// validated and normalised in place; an invalid caps is an error.
func CanConsume(consumable media.RtpParameters, caps *media.RtpCapabilities) (bool, error) {
	if err := ValidateRtpCapabilities(caps); err != nil {
		return false, err
	}
	for i := range consumable.Codecs {
		if findStrictMatch(caps.Codecs, &consumable.Codecs[i]) >= 0 {
			return !isRtx(consumable.Codecs[i].MimeType), nil
		}
	}
	return false, nil
}

func findStrictMatch(capCodecs []media.RtpCodecCapability, codec *media.RtpCodecParameters) int {
	for j := range capCodecs {
		if ok, _ := matchCodecs(capView(&capCodecs[j]), paramView(codec), true); ok {
			return j
		}
	}
	return -1
}

// ConsumerParamsOptions tunes GetConsumerRtpParameters. The zero value is
// a non-pipe consumer without RTX.
type ConsumerParamsOptions struct {
	// Pipe keeps every consumable encoding (for pipe transports) instead
	// of collapsing them into one. Default false.
	Pipe bool
	// EnableRtx keeps RTX codecs and NACK feedback. mediasoup's default,
	// which the caller applies, is true for video and false for audio.
	EnableRtx bool
}

// GetConsumerRtpParameters derives the parameters of one consumer from the
// producer's consumable parameters and the remote endpoint's RTP
// capabilities (already validated, e.g. by CanConsume). It keeps the
// consumable codecs the remote strictly supports with the remote's RTCP
// feedback, drops RTX codecs without their media codec, keeps the header
// extensions the remote has with the same id, and reduces feedback to one
// bandwidth estimator (transport-cc if its extension remains, else REMB
// if abs-send-time remains, else none). A non-pipe consumer gets one
// encoding with a fresh SSRC (and RTX SSRC+1), the producer's
// scalabilityMode (L<n>T<t> for n simulcast streams) and the highest
// maxBitrate. ErrUnsupported if no media codec is compatible. The inputs
// are not modified.
func GetConsumerRtpParameters(consumable media.RtpParameters, remote media.RtpCapabilities, opts ConsumerParamsOptions) (media.RtpParameters, error) {
	remoteCodecs, err := normalisedCodecs(remote.Codecs)
	if err != nil {
		return media.RtpParameters{}, err
	}
	out := media.RtpParameters{
		Codecs:           consumerCodecs(consumable.Codecs, remoteCodecs, opts.EnableRtx),
		HeaderExtensions: commonHeaderExtensions(consumable.HeaderExtensions, remote.HeaderExtensions),
		Rtcp:             consumable.Rtcp.Clone(),
		Msid:             consumable.Msid,
	}
	rtxSupported := hasRtx(out.Codecs)
	if len(out.Codecs) == 0 || isRtx(out.Codecs[0].MimeType) {
		return media.RtpParameters{}, media.NewError(media.ErrUnsupported, "no compatible media codecs")
	}
	reduceBandwidthFeedback(out.Codecs, out.HeaderExtensions)
	if opts.Pipe {
		out.Encodings = pipeEncodings(consumable.Encodings, rtxSupported)
	} else {
		out.Encodings = []media.RtpEncodingParameters{singleEncoding(consumable.Encodings, rtxSupported)}
	}
	return out, nil
}

// normalisedCodecs returns validated copies of remote codec capabilities.
func normalisedCodecs(codecs []media.RtpCodecCapability) ([]media.RtpCodecCapability, error) {
	out := make([]media.RtpCodecCapability, len(codecs))
	for i := range codecs {
		out[i] = codecs[i].Clone()
		if err := validateRtpCodecCapability(&out[i], path("rtpCapabilities").dot("codecs").at(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// consumerCodecs keeps the consumable codecs the remote supports, with the
// remote's feedback (minus plain NACK without RTX), then drops RTX codecs
// whose media codec is gone.
func consumerCodecs(consumable []media.RtpCodecParameters, remote []media.RtpCodecCapability, enableRtx bool) []media.RtpCodecParameters {
	out := []media.RtpCodecParameters{}
	for i := range consumable {
		if !enableRtx && isRtx(consumable[i].MimeType) {
			continue
		}
		j := findStrictMatch(remote, &consumable[i])
		if j < 0 {
			continue
		}
		codec := consumable[i].Clone()
		codec.RtcpFeedback = filterFeedback(remote[j].RtcpFeedback, func(fb media.RtcpFeedback) bool {
			return enableRtx || fb.Type != "nack" || fb.Parameter != ""
		})
		out = append(out, codec)
	}
	kept := out[:0]
	for _, c := range out {
		if !isRtx(c.MimeType) || rtxHasMedia(out, c) {
			kept = append(kept, c)
		}
	}
	return kept
}

func rtxHasMedia(codecs []media.RtpCodecParameters, rtx media.RtpCodecParameters) bool {
	apt, ok := rtx.Parameters.Int("apt")
	return ok && indexOfPayloadType(codecs, apt) >= 0
}

func hasRtx(codecs []media.RtpCodecParameters) bool {
	for _, c := range codecs {
		if isRtx(c.MimeType) {
			return true
		}
	}
	return false
}

func filterFeedback(fbs []media.RtcpFeedback, keep func(media.RtcpFeedback) bool) []media.RtcpFeedback {
	out := []media.RtcpFeedback{}
	for _, fb := range fbs {
		if keep(fb) {
			out = append(out, fb)
		}
	}
	return out
}

// commonHeaderExtensions keeps the extensions the remote has with the
// same URI and id.
func commonHeaderExtensions(exts []media.RtpHeaderExtensionParameters, remote []media.RtpHeaderExtension) []media.RtpHeaderExtensionParameters {
	out := []media.RtpHeaderExtensionParameters{}
	for _, e := range exts {
		for _, r := range remote {
			if r.PreferredID == e.ID && r.URI == e.URI {
				out = append(out, e.Clone())
				break
			}
		}
	}
	return out
}

func hasExtension(exts []media.RtpHeaderExtensionParameters, uri media.RtpHeaderExtensionURI) bool {
	for _, e := range exts {
		if e.URI == uri {
			return true
		}
	}
	return false
}

// reduceBandwidthFeedback leaves a single bandwidth estimation feedback.
func reduceBandwidthFeedback(codecs []media.RtpCodecParameters, exts []media.RtpHeaderExtensionParameters) {
	drop := map[string]bool{"transport-cc": true, "goog-remb": true}
	switch {
	case hasExtension(exts, media.ExtTransportWideCC01):
		drop = map[string]bool{"goog-remb": true}
	case hasExtension(exts, media.ExtAbsSendTime):
		drop = map[string]bool{"transport-cc": true}
	}
	for i := range codecs {
		codecs[i].RtcpFeedback = filterFeedback(codecs[i].RtcpFeedback, func(fb media.RtcpFeedback) bool { return !drop[fb.Type] })
	}
}

// singleEncoding is the one encoding of a non-pipe consumer.
func singleEncoding(consumable []media.RtpEncodingParameters, rtx bool) media.RtpEncodingParameters {
	enc := media.RtpEncodingParameters{SSRC: GenerateSSRC()}
	if rtx {
		enc.RTX = &media.RtxParameters{SSRC: enc.SSRC + 1}
	}
	mode := ""
	for _, e := range consumable {
		if e.ScalabilityMode != "" {
			mode = e.ScalabilityMode
			break
		}
	}
	if len(consumable) > 1 {
		mode = fmt.Sprintf("L%dT%d", len(consumable), ParseScalabilityMode(mode).TemporalLayers)
	}
	enc.ScalabilityMode = mode
	for _, e := range consumable {
		enc.MaxBitrate = max(enc.MaxBitrate, e.MaxBitrate)
	}
	return enc
}

// pipeEncodings keeps every encoding with fresh consecutive SSRCs (and
// RTX SSRCs when rtx).
func pipeEncodings(consumable []media.RtpEncodingParameters, rtx bool) []media.RtpEncodingParameters {
	out := make([]media.RtpEncodingParameters, len(consumable))
	base, rtxBase := GenerateSSRC(), GenerateSSRC()
	for i, e := range consumable {
		e = e.Clone()
		e.SSRC = base + uint32(i)
		e.RTX = nil
		if rtx {
			e.RTX = &media.RtxParameters{SSRC: rtxBase + uint32(i)}
		}
		out[i] = e
	}
	return out
}

// pipeDroppedExtensions are the transport-level extensions a pipe
// consumer does not forward: MID and bandwidth estimation.
var pipeDroppedExtensions = map[media.RtpHeaderExtensionURI]bool{
	media.ExtMid:               true,
	media.ExtAbsSendTime:       true,
	media.ExtTransportWideCC01: true,
}

// GetPipeConsumerRtpParameters derives the parameters of a consumer on a
// pipe transport: all consumable codecs (RTX only if enableRtx) with
// feedback reduced to PLI, FIR and (with RTX) NACK, no MID or bandwidth
// estimation extensions, the AV1 dependency descriptor for video, and
// every encoding with fresh SSRCs. The input is not modified.
func GetPipeConsumerRtpParameters(consumable media.RtpParameters, enableRtx bool) media.RtpParameters {
	out := media.RtpParameters{
		Codecs:           []media.RtpCodecParameters{},
		HeaderExtensions: []media.RtpHeaderExtensionParameters{},
		Rtcp:             consumable.Rtcp.Clone(),
		Msid:             consumable.Msid,
	}
	for _, c := range consumable.Codecs {
		if !enableRtx && isRtx(c.MimeType) {
			continue
		}
		c = c.Clone()
		c.RtcpFeedback = filterFeedback(c.RtcpFeedback, func(fb media.RtcpFeedback) bool {
			return (fb.Type == "nack" && fb.Parameter == "pli") || (fb.Type == "ccm" && fb.Parameter == "fir") ||
				(enableRtx && fb.Type == "nack" && fb.Parameter == "")
		})
		out.Codecs = append(out.Codecs, c)
	}
	for _, e := range consumable.HeaderExtensions {
		if !pipeDroppedExtensions[e.URI] {
			out.HeaderExtensions = append(out.HeaderExtensions, e.Clone())
		}
	}
	out.HeaderExtensions = withDependencyDescriptor(out.HeaderExtensions, consumable.Codecs)
	out.Encodings = pipeEncodings(consumable.Encodings, enableRtx)
	return out
}

// withDependencyDescriptor adds the dependency descriptor extension to a
// video pipe consumer, as mediasoup does: it is recvonly in the router
// capabilities, so consumable parameters lack it, yet the receiving router
// needs it. The result is sorted by id.
func withDependencyDescriptor(exts []media.RtpHeaderExtensionParameters, codecs []media.RtpCodecParameters) []media.RtpHeaderExtensionParameters {
	if len(codecs) == 0 || !strings.HasPrefix(strings.ToLower(codecs[0].MimeType), "video/") || hasExtension(exts, media.ExtDependencyDescriptor) {
		return exts
	}
	for _, e := range supported().HeaderExtensions {
		if e.URI == media.ExtDependencyDescriptor && e.Kind == media.KindVideo {
			exts = append(exts, media.RtpHeaderExtensionParameters{
				URI: e.URI, ID: e.PreferredID, Encrypt: e.PreferredEncrypt, Parameters: media.Parameters{}})
		}
	}
	slices.SortStableFunc(exts, func(a, b media.RtpHeaderExtensionParameters) int { return a.ID - b.ID })
	return exts
}
