package ortc

import (
	"slices"

	"github.com/ropehq/rope/media"
)

// dynamicPayloadTypes is the order in which mediasoup hands out dynamic
// payload types: 100..127 first, then 96..99.
var dynamicPayloadTypes = []int{
	100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
	115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 96, 97, 98, 99,
}

// GenerateRouterRtpCapabilities builds a router's RTP capabilities from
// the media codecs it is configured with (mediasoup's
// RouterOptions.mediaCodecs). Each media codec must loosely match a
// supported codec (else ErrUnsupported); the result takes the supported
// codec's RTCP feedback, merges the media codec's parameters over the
// supported ones, keeps a given preferredPayloadType or the supported
// static one, and otherwise assigns the next dynamic payload type. Each
// video codec gets an RTX codec right after it. Header extensions are all
// the supported ones. mediaCodecs is not modified.
func GenerateRouterRtpCapabilities(mediaCodecs []media.RtpCodecCapability) (media.RtpCapabilities, error) {
	g := routerCapsGen{dynamic: slices.Clone(dynamicPayloadTypes)}
	for i := range mediaCodecs {
		if err := g.add(mediaCodecs[i].Clone(), path("mediaCodecs").at(i)); err != nil {
			return media.RtpCapabilities{}, err
		}
	}
	if g.codecs == nil {
		g.codecs = []media.RtpCodecCapability{}
	}
	return media.RtpCapabilities{Codecs: g.codecs, HeaderExtensions: supported().Clone().HeaderExtensions}, nil
}

// routerCapsGen accumulates router codecs and the dynamic payload types
// still free.
type routerCapsGen struct {
	codecs  []media.RtpCodecCapability
	dynamic []int
}

func (g *routerCapsGen) add(mc media.RtpCodecCapability, p path) error {
	if err := validateRtpCodecCapability(&mc, p); err != nil {
		return err
	}
	codec, err := matchSupported(&mc, p)
	if err != nil {
		return err
	}
	if err := g.assignPayloadType(&codec, mc.PreferredPayloadType, p); err != nil {
		return err
	}
	for k, v := range mc.Parameters {
		codec.Parameters[k] = v
	}
	g.codecs = append(g.codecs, codec)
	if codec.Kind != media.KindVideo {
		return nil
	}
	return g.addRtx(codec, p)
}

// matchSupported returns a copy of the first supported codec mc loosely
// matches.
func matchSupported(mc *media.RtpCodecCapability, p path) (media.RtpCodecCapability, error) {
	sup := supported().Codecs
	for i := range sup {
		if ok, _ := matchCodecs(capView(mc), capView(&sup[i]), false); ok {
			return sup[i].Clone(), nil
		}
	}
	return media.RtpCodecCapability{}, media.NewError(media.ErrUnsupported,
		"%s: media codec not supported [mimeType:%s, clockRate:%d, channels:%d]", p, mc.MimeType, mc.ClockRate, mc.Channels)
}

// assignPayloadType applies mediasoup's order: the caller's preferred
// payload type, else the supported codec's static one, else the next
// dynamic one.
func (g *routerCapsGen) assignPayloadType(codec *media.RtpCodecCapability, preferred *int, p path) error {
	switch {
	case preferred != nil:
		codec.PreferredPayloadType = new(*preferred)
		g.dynamic = slices.DeleteFunc(g.dynamic, func(pt int) bool { return pt == *preferred })
	case codec.PreferredPayloadType != nil:
	default:
		pt, err := g.nextDynamic(p)
		if err != nil {
			return err
		}
		codec.PreferredPayloadType = new(pt)
	}
	for _, c := range g.codecs {
		if *c.PreferredPayloadType == *codec.PreferredPayloadType {
			return p.dot("preferredPayloadType").errorf("duplicated preferredPayloadType %d", *codec.PreferredPayloadType)
		}
	}
	return nil
}

func (g *routerCapsGen) nextDynamic(p path) (int, error) {
	if len(g.dynamic) == 0 {
		return 0, p.errorf("cannot allocate more dynamic codec payload types")
	}
	pt := g.dynamic[0]
	g.dynamic = g.dynamic[1:]
	return pt, nil
}

func (g *routerCapsGen) addRtx(codec media.RtpCodecCapability, p path) error {
	pt, err := g.nextDynamic(p)
	if err != nil {
		return err
	}
	g.codecs = append(g.codecs, media.RtpCodecCapability{
		Kind:                 codec.Kind,
		MimeType:             string(codec.Kind) + "/rtx",
		PreferredPayloadType: new(pt),
		ClockRate:            codec.ClockRate,
		Parameters:           media.Parameters{"apt": *codec.PreferredPayloadType},
		RtcpFeedback:         []media.RtcpFeedback{},
	})
	return nil
}
