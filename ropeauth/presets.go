package ropeauth

import (
	"slices"
	"time"
)

// The quotas of Participant and MafaldaParticipant: the most live objects
// of each type one participant may own at once.
const (
	ParticipantTransports    = 4
	ParticipantProducers     = 8
	ParticipantConsumers     = 64
	ParticipantDataProducers = 8
	ParticipantDataConsumers = 64
)

// Type names of the media objects (spec/media-v1.md, Part III's
// MafaldaRouter), as media/mediaserver and mafalda/mafaldaserver serve
// them; the tests check them against those packages, which this one does
// not import (an app server that mints tokens needs no media stack).
const (
	typeRouter          = "Router"
	typeMafaldaRouter   = "MafaldaRouter"
	typeWebRtcTransport = "WebRtcTransport"
	typePlainTransport  = "PlainTransport"
	typePipeTransport   = "PipeTransport"
	typeDirectTransport = "DirectTransport"
	typeProducer        = "Producer"
	typeConsumer        = "Consumer"
	typeDataProducer    = "DataProducer"
	typeDataConsumer    = "DataConsumer"
)

// Participant returns the claims of a media-room participant token for
// subject, valid for ttl from now: what a mediasoup-client participant
// needs on the router routerID and nothing more.
//
//   - It sees the router and what is under it, nothing else (no worker,
//     no other router, no other room).
//   - On the router: createWebRtcTransport and canConsume.
//   - On its own WebRtcTransports: connect, restartIce, produce, consume,
//     produceData, consumeData, setMaxIncomingBitrate,
//     setMaxOutgoingBitrate, setMinOutgoingBitrate, getStats, close.
//   - On its own producers and consumers (and data ones): pause, resume,
//     close, getStats; on consumers also setPreferredLayers,
//     setPriority, unsetPriority and requestKeyFrame.
//   - Transports it does not own are hidden ("othersShallow": other
//     participants' ICE, DTLS, SCTP and SRTP parameters never reach it),
//     and so are others' consumers and data consumers; the producers and
//     data producers on those transports stay visible, so that it can
//     consume them (others' and the application's, on plain or pipe
//     transports alike).
//   - Quotas: ParticipantTransports WebRtcTransports,
//     ParticipantProducers producers, ParticipantConsumers consumers,
//     ParticipantDataProducers and ParticipantDataConsumers.
//
// Change the returned claims to widen or narrow it before signing.
func Participant(routerID, subject string, ttl time.Duration) *Claims {
	return room(typeRouter, routerID, subject, ttl)
}

// MafaldaParticipant is Participant for a room on a MafaldaRouter
// (spec/mafalda-v1.md): the same grant, with the MafaldaRouter
// mafaldaRouterID as its root.
func MafaldaParticipant(mafaldaRouterID, subject string, ttl time.Duration) *Claims {
	return room(typeMafaldaRouter, mafaldaRouterID, subject, ttl)
}

// room builds a participant's claims on a router of type routerType.
func room(routerType, routerID, subject string, ttl time.Duration) *Claims {
	c := &Claims{Rope: participantRope(routerType, routerID)}
	c.Subject = subject
	stamp(c, time.Now(), ttl)
	return c
}

func participantRope(routerType, routerID string) *Rope {
	own := func(m ...string) Methods { return Methods{Own: m} }
	media := []string{"pause", "resume", "close", "getStats"}
	return &Rope{
		Roots: []string{routerID},
		Hide: map[string]string{
			typeWebRtcTransport: HideOthersShallow,
			typePlainTransport:  HideOthersShallow,
			typePipeTransport:   HideOthersShallow,
			typeDirectTransport: HideOthersShallow,
			typeConsumer:        HideOthers,
			typeDataConsumer:    HideOthers,
		},
		Calls: map[string]Methods{
			routerType: {Any: []string{"createWebRtcTransport", "canConsume"}},
			typeWebRtcTransport: own("connect", "restartIce", "produce", "consume", "produceData", "consumeData",
				"setMaxIncomingBitrate", "setMaxOutgoingBitrate", "setMinOutgoingBitrate", "getStats", "close"),
			typeProducer:     own(slices.Clone(media)...),
			typeConsumer:     own(append(slices.Clone(media), "setPreferredLayers", "setPriority", "unsetPriority", "requestKeyFrame")...),
			typeDataProducer: own(slices.Clone(media)...),
			typeDataConsumer: own(slices.Clone(media)...),
		},
		Quotas: map[string]int{
			typeWebRtcTransport: ParticipantTransports,
			typeProducer:        ParticipantProducers,
			typeConsumer:        ParticipantConsumers,
			typeDataProducer:    ParticipantDataProducers,
			typeDataConsumer:    ParticipantDataConsumers,
		},
	}
}
