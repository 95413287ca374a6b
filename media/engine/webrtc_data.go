package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/pion/sctp"

	"github.com/ropehq/rope/media"
)

// Data channels of a WebRtcTransport: SCTP streams over DTLS, negotiated
// out of band as mediasoup-client does (no DCEP). A data producer reads
// the stream whose id its sctpStreamParameters name (the client picks
// it); a data consumer writes on a stream id the transport allocates, as
// mediasoup's worker does, and the client opens a negotiated channel with
// that id.

// ppidDCEP is the WebRTC Data Channel Establishment Protocol's PPID;
// mediasoup-client's channels are negotiated, so DCEP messages are
// ignored.
const ppidDCEP = 50

// sctpData is the data-channel state of a webRtcLink.
type sctpData struct {
	// mu guards the maps below.
	mu sync.Mutex
	// producers maps incoming stream ids to data producers.
	producers map[uint16]*dataProducer
	// outIDs are the stream ids in use by data consumers.
	outIDs map[uint16]bool
	// out are the streams opened for data consumers.
	out map[uint16]*sctp.Stream

	// readers counts the goroutines reading incoming streams; they end
	// when the association closes.
	readers sync.WaitGroup
}

// sctpDataConsumer is a data consumer writing to an SCTP stream.
type sctpDataConsumer struct {
	*dataConsumer
	sctp *media.SctpStreamParameters
}

var _ media.DataConsumer = (*sctpDataConsumer)(nil)

func (c *sctpDataConsumer) SctpStreamParameters() *media.SctpStreamParameters {
	p := *c.sctp
	return &p
}

func (c *sctpDataConsumer) Dump(ctx context.Context) (*media.DataConsumerDump, error) {
	d, err := c.dataConsumer.Dump(ctx)
	if d != nil {
		d.SctpStreamParameters = c.SctpStreamParameters()
	}
	return d, err
}

func (wt *webRtcTransport) checkSCTP() error {
	if wt.link.tr.Parameters().SCTPParameters == nil {
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
	if o == nil || o.SctpStreamParameters == nil {
		return nil, &media.ParamError{Field: "sctpStreamParameters", Reason: "required"}
	}
	sp := *o.SctpStreamParameters
	if sp.StreamID < 0 || sp.StreamID >= wt.link.sctpParameters().MIS {
		return nil, &media.ParamError{Field: "sctpStreamParameters.streamId", Reason: fmt.Sprintf("%d out of range", sp.StreamID)}
	}
	if sp.MaxPacketLifeTime != nil && sp.MaxRetransmits != nil {
		return nil, &media.ParamError{Field: "sctpStreamParameters", Reason: "maxPacketLifeTime and maxRetransmits are exclusive"}
	}
	id := o.ID
	if id == "" {
		id = newID()
	} else if err := validID("id", id); err != nil {
		return nil, err
	}
	t := wt.transport
	p := &dataProducer{transport: t, router: t.router, typ: media.DataSCTP, sctp: &sp, label: o.Label, protocol: o.Protocol}
	p.init(id, o.AppData)
	p.paused.Store(o.Paused)
	d := &wt.link.data
	d.mu.Lock()
	if _, dup := d.producers[uint16(sp.StreamID)]; dup {
		d.mu.Unlock()
		return nil, &media.ParamError{Field: "sctpStreamParameters.streamId", Reason: fmt.Sprintf("%d already in use", sp.StreamID)}
	}
	d.producers[uint16(sp.StreamID)] = p
	d.mu.Unlock()
	release := func() {
		d.mu.Lock()
		if d.producers[uint16(sp.StreamID)] == p {
			delete(d.producers, uint16(sp.StreamID))
		}
		d.mu.Unlock()
	}
	if err := t.router.addDataProducer(p); err != nil {
		release()
		return nil, err
	}
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		t.router.removeDataProducer(id)
		release()
		return nil, media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	t.dataProducers[id] = p
	t.mu.Unlock()
	p.OnClose(release)
	t.onNewDataProducer.Emit(p)
	return p, nil
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
	if o == nil || o.DataProducerID == "" {
		return nil, &media.ParamError{Field: "dataProducerId", Reason: "required"}
	}
	p, err := wt.router.dataProducer(o.DataProducerID)
	if err != nil {
		return nil, err
	}
	// As mediasoup: the producer's stream parameters (ordered for a
	// direct producer), overridden by the options.
	var sp media.SctpStreamParameters
	if p.sctp != nil {
		sp = *p.sctp
	}
	if o.Ordered != nil {
		sp.Ordered = o.Ordered
	}
	if o.MaxPacketLifeTime != nil {
		sp.MaxPacketLifeTime, sp.MaxRetransmits = o.MaxPacketLifeTime, nil
	}
	if o.MaxRetransmits != nil {
		sp.MaxRetransmits, sp.MaxPacketLifeTime = o.MaxRetransmits, nil
	}
	d := &wt.link.data
	d.mu.Lock()
	n := wt.link.sctpParameters().OS
	sid := -1
	for i := 0; i < n; i++ {
		if !d.outIDs[uint16(i)] {
			sid = i
			break
		}
	}
	if sid < 0 {
		d.mu.Unlock()
		return nil, media.NewError(media.ErrInvalidState, "no free SCTP stream on transport %s", wt.id)
	}
	d.outIDs[uint16(sid)] = true
	d.mu.Unlock()
	sp.StreamID = sid

	t := wt.transport
	c := &dataConsumer{transport: t, producer: p, typ: media.DataSCTP, subchannels: uniqSorted(o.Subchannels)}
	c.init(newID(), o.AppData)
	c.paused.Store(o.Paused)
	c.producerPaused.Store(p.paused.Load())
	release := func() {
		d.mu.Lock()
		delete(d.outIDs, uint16(sid))
		st := d.out[uint16(sid)]
		delete(d.out, uint16(sid))
		d.mu.Unlock()
		if st != nil {
			_ = st.Close() // resets the stream: the client's channel closes
		}
	}
	t.mu.Lock()
	if t.closed.Load() {
		t.mu.Unlock()
		release()
		return nil, media.NewError(media.ErrClosed, "transport %s closed", t.id)
	}
	t.dataConsumers[c.id] = c
	t.mu.Unlock()
	if err := p.addConsumer(c); err != nil {
		c.removeFromTransport()
		release()
		return nil, err
	}
	params := sp
	c.onMessage.On(func(m dataMessage) { wt.link.sendSCTP(&params, m.msg, m.ppid) })
	c.OnClose(release)
	sc := &sctpDataConsumer{dataConsumer: c, sctp: &params}
	t.onNewDataConsumer.Emit(sc)
	return sc, nil
}

// sendSCTP writes one message on a data consumer's stream, opening it on
// first use. Messages before SCTP is connected are dropped, as mediasoup
// does.
func (l *webRtcLink) sendSCTP(sp *media.SctpStreamParameters, msg []byte, ppid int) {
	d := &l.data
	id := uint16(sp.StreamID)
	d.mu.Lock()
	st := d.out[id]
	if st == nil && d.outIDs[id] {
		assoc, err := l.tr.SCTPAssociation()
		if err == nil {
			st, err = assoc.OpenStream(id, sctp.PayloadProtocolIdentifier(ppid))
		}
		if err != nil {
			d.mu.Unlock()
			return
		}
		switch {
		case sp.MaxPacketLifeTime != nil:
			st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeTimed, uint32(*sp.MaxPacketLifeTime))
		case sp.MaxRetransmits != nil:
			st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeRexmit, uint32(*sp.MaxRetransmits))
		default:
			st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeReliable, 0)
		}
		d.out[id] = st
	}
	d.mu.Unlock()
	if st == nil {
		return
	}
	if len(msg) == 0 {
		// WebRTC sends an empty message as one byte with an "empty" PPID.
		msg = []byte{0}
		switch ppid {
		case media.PPIDString:
			ppid = media.PPIDStringEmpty
		case media.PPIDBinary:
			ppid = media.PPIDBinaryEmpty
		}
	}
	_, _ = st.WriteSCTP(msg, sctp.PayloadProtocolIdentifier(ppid))
}

// sctpStream starts reading a stream the client opened (called on the
// webrtc layer's DTLS goroutine).
func (l *webRtcLink) sctpStream(st *sctp.Stream) {
	l.data.readers.Add(1)
	go l.readStream(st)
}

// readStream hands each message of st to the data producer of its stream
// id, until the association closes.
func (l *webRtcLink) readStream(st *sctp.Stream) {
	defer l.data.readers.Done()
	buf := make([]byte, l.tr.Parameters().SCTPParameters.MaxMessageSize+1)
	id := st.StreamIdentifier()
	for {
		n, ppi, err := st.ReadSCTP(buf)
		if err != nil {
			return
		}
		ppid := int(ppi)
		if ppid == ppidDCEP {
			continue
		}
		msg := buf[:n]
		if ppid == media.PPIDStringEmpty || ppid == media.PPIDBinaryEmpty {
			msg = msg[:0]
		}
		l.data.mu.Lock()
		p := l.data.producers[id]
		l.data.mu.Unlock()
		if p == nil || p.closed.Load() {
			continue
		}
		msg = append([]byte(nil), msg...) // consumers may keep it
		l.t.loopCallback(func() { p.receiveSCTP(msg, ppid) })
	}
}

// receiveSCTP fans a message from the client out to the consumers, as
// Send does for a direct data producer.
func (p *dataProducer) receiveSCTP(msg []byte, ppid int) {
	p.messages.Add(1)
	p.bytes.Add(uint64(len(msg)))
	if p.paused.Load() {
		return
	}
	opts := media.DataSendOptions{PPID: ppid}
	for _, c := range p.consumerList() {
		c.deliver(msg, &opts)
	}
}
