package engine

import (
	"context"

	"github.com/pion/sctp"

	"github.com/ropehq/rope/media"
)

// Data channels of a WebRtcTransport: SCTP streams over DTLS, served by
// the association-agnostic sctpData (sctp_data.go).

func (wt *webRtcTransport) checkSCTP() error {
	if wt.link.data == nil {
		return media.NewError(media.ErrInvalidState, "SCTP not enabled on transport %s", wt.id)
	}
	return nil
}

// ProduceData makes a data producer on the stream id of
// options.sctpStreamParameters.
func (wt *webRtcTransport) ProduceData(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := wt.checkOpen("transport"); err != nil {
		return nil, err
	}
	if err := wt.checkSCTP(); err != nil {
		return nil, err
	}
	return wt.link.data.produce(ctx, o)
}

// ConsumeData makes a data consumer on a free outgoing stream id.
func (wt *webRtcTransport) ConsumeData(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := wt.checkOpen("transport"); err != nil {
		return nil, err
	}
	if err := wt.checkSCTP(); err != nil {
		return nil, err
	}
	return wt.link.data.consume(ctx, o)
}

// association is the DTLS transport's association once SCTP is
// connected.
func (l *webRtcLink) association() *sctp.Association {
	a, err := l.tr.SCTPAssociation()
	if err != nil {
		return nil
	}
	return a
}

// sctpStream starts reading a stream the client opened (called on the
// webrtc layer's DTLS goroutine).
func (l *webRtcLink) sctpStream(st *sctp.Stream) {
	defer l.t.router.worker.recoverPanic("webrtc SCTP stream")
	if l.data != nil {
		l.data.accept(st)
	}
}
