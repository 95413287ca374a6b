package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pion/sctp"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/ortc"
)

// Data producers and consumers over an SCTP association, shared by the
// WebRtcTransport (SCTP over DTLS, webrtc_data.go) and the plain and pipe
// transports (SCTP straight over UDP, sctp_udp.go). Streams are
// negotiated out of band as mediasoup does (no DCEP): a data producer
// reads the stream whose id its sctpStreamParameters name (the peer
// picks it); a data consumer writes on a stream id the transport
// allocates, as mediasoup's Transport does, and the peer reads that
// stream.
//
// A pion stream is both directions of one id: data the peer sends on an
// id arrives in the stream object of that id, whichever side opened it.
// So every stream object gets a reader, the ones the peer opens
// (accepted) and the ones a data consumer opens. Closing a data consumer
// resets its outgoing stream; when the peer resets a stream the
// transport does not write on, the transport resets its side too (RFC
// 8831 §6.7), which frees the id at both ends. An id whose reset is not
// answered yet is not given to a new data consumer.

// ppidDCEP is the WebRTC Data Channel Establishment Protocol's PPID;
// mediasoup-client's channels are negotiated, so DCEP messages are
// ignored.
const ppidDCEP = 50

// readBufSize is the buffer of a stream's reader (up to MIS readers per
// transport); a larger message gets a buffer of its size.
const readBufSize = 2048

// sctpData is the data-channel state of one transport's association.
type sctpData struct {
	t *transport
	// params are the transport's sctpParameters: MIS bounds the stream
	// ids of data producers, OS those of data consumers, MaxMessageSize
	// the messages either way.
	params media.SctpParameters
	// sendBufferSize bounds the bytes the association holds unsent or
	// unacknowledged (sctpSendBufferSize); 0 means no bound.
	sendBufferSize int
	// assoc returns the association once it is connected, else nil.
	assoc func() *sctp.Association

	// mu guards the fields below.
	mu sync.Mutex
	// producers maps incoming stream ids to data producers.
	producers map[uint16]*dataProducer
	// outIDs are the stream ids in use by data consumers.
	outIDs map[uint16]bool
	// out are the streams data consumers write on.
	out map[uint16]*sctp.Stream
	// consumers are the data consumers by outgoing stream id.
	consumers map[uint16]*sctpDataConsumer
	// streams are the stream objects read by a reader: those in the
	// association's table, as far as the transport knows.
	streams map[uint16]*sctp.Stream
	// nextOut is where the search for a free outgoing stream id starts:
	// as mediasoup, ids go round rather than reuse the one just freed,
	// whose reset may still be under way.
	nextOut int
	// stopped says the transport is closing: no reader starts any more.
	stopped bool

	// readers counts the goroutines reading incoming streams; they end
	// when the association closes.
	readers sync.WaitGroup
}

func newSctpData(t *transport, params media.SctpParameters, sendBufferSize int, assoc func() *sctp.Association) *sctpData {
	return &sctpData{t: t, params: params, sendBufferSize: sendBufferSize, assoc: assoc,
		producers: map[uint16]*dataProducer{}, outIDs: map[uint16]bool{}, out: map[uint16]*sctp.Stream{},
		consumers: map[uint16]*sctpDataConsumer{}, streams: map[uint16]*sctp.Stream{}}
}

// sctpDataConsumer is a data consumer writing to an SCTP stream.
type sctpDataConsumer struct {
	*dataConsumer
	sctp *media.SctpStreamParameters
	data *sctpData
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

// GetBufferedAmount is what the consumer's stream holds unsent or
// unacknowledged.
func (c *sctpDataConsumer) GetBufferedAmount(ctx context.Context) (int, error) {
	if err := c.checkOpen("data consumer"); err != nil {
		return 0, err
	}
	return c.bufferedAmount(), nil
}

// stream is the consumer's outgoing stream once opened, else nil.
func (c *sctpDataConsumer) stream() *sctp.Stream {
	c.data.mu.Lock()
	defer c.data.mu.Unlock()
	return c.data.out[uint16(c.sctp.StreamID)]
}

func (c *sctpDataConsumer) bufferedAmount() int {
	if st := c.stream(); st != nil {
		return int(st.BufferedAmount())
	}
	return 0
}

// SetBufferedAmountLowThreshold fires "bufferedamountlow" at once when
// the stream holds no more than threshold, else when it falls to it (as
// mediasoup's forceTriggerBufferedAmountLow).
func (c *sctpDataConsumer) SetBufferedAmountLowThreshold(ctx context.Context, threshold int) error {
	if err := c.setThreshold(threshold); err != nil {
		return err
	}
	amount := 0
	if st := c.stream(); st != nil {
		st.SetBufferedAmountLowThreshold(uint64(threshold))
		amount = int(st.BufferedAmount())
	}
	if amount <= threshold {
		c.onBufferedLow.Emit(amount)
	}
	return nil
}

// watch makes the stream's drains fire "bufferedamountlow".
func (c *sctpDataConsumer) watch(st *sctp.Stream) {
	st.SetBufferedAmountLowThreshold(uint64(c.threshold.Load()))
	st.OnBufferedAmountLow(func() {
		if !c.closed.Load() {
			c.onBufferedLow.Emit(int(st.BufferedAmount()))
		}
	})
}

// Send writes a server-originated message on the consumer's stream.
func (c *sctpDataConsumer) Send(ctx context.Context, msg []byte, ppid int) error {
	msg, ppid, err := c.checkSend(msg, ppid, c.data.params.MaxMessageSize)
	if err != nil {
		return err
	}
	switch err := c.data.send(c.sctp, msg, ppid); {
	case err == nil:
		c.count(msg)
		return nil
	case errors.Is(err, errSendBufferFull):
		emit(&c.onBufferFull)
		return media.NewError(media.ErrSctpSendBufferFull, "sctpsendbufferfull")
	case errors.Is(err, errNotConnected):
		return media.NewError(media.ErrInvalidState, "data consumer %s: SCTP not connected", c.id)
	default:
		return fmt.Errorf("data consumer %s: send: %w", c.id, err)
	}
}

// produce makes a data producer on the stream id of
// options.sctpStreamParameters, below MIS.
func (d *sctpData) produce(ctx context.Context, o *media.DataProducerOptions) (media.DataProducer, error) {
	if o == nil || o.SctpStreamParameters == nil {
		return nil, &media.ParamError{Field: "sctpStreamParameters", Reason: "required"}
	}
	sp := *o.SctpStreamParameters
	if err := ortc.ValidateSctpStreamParameters(&sp); err != nil {
		return nil, err
	}
	if sp.StreamID >= d.params.MIS {
		return nil, &media.ParamError{Field: "sctpStreamParameters.streamId", Reason: fmt.Sprintf("%d out of range (MIS %d)", sp.StreamID, d.params.MIS)}
	}
	id := o.ID
	if id == "" {
		id = newID()
	} else if err := validID("id", id); err != nil {
		return nil, err
	}
	t := d.t
	p := &dataProducer{transport: t, router: t.router, typ: media.DataSCTP, sctp: &sp, label: o.Label, protocol: o.Protocol}
	p.init(id, o.AppData)
	p.paused.Store(o.Paused)
	sid := uint16(sp.StreamID)
	d.mu.Lock()
	if _, dup := d.producers[sid]; dup {
		d.mu.Unlock()
		return nil, &media.ParamError{Field: "sctpStreamParameters.streamId", Reason: fmt.Sprintf("%d already in use", sp.StreamID)}
	}
	d.producers[sid] = p
	d.mu.Unlock()
	release := func() {
		d.mu.Lock()
		if d.producers[sid] == p {
			delete(d.producers, sid)
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

// consume makes a data consumer on a free outgoing stream id, below OS.
func (d *sctpData) consume(ctx context.Context, o *media.DataConsumerOptions) (media.DataConsumer, error) {
	if o == nil || o.DataProducerID == "" {
		return nil, &media.ParamError{Field: "dataProducerId", Reason: "required"}
	}
	t := d.t
	p, err := t.router.dataProducer(o.DataProducerID)
	if err != nil {
		return nil, err
	}
	sp := consumerStreamParameters(p, o)
	sid, err := d.allocate()
	if err != nil {
		return nil, err
	}
	sp.StreamID = int(sid)
	c := &dataConsumer{transport: t, producer: p, typ: media.DataSCTP, subchannels: uniqSorted(o.Subchannels)}
	c.init(newID(), o.AppData)
	c.paused.Store(o.Paused)
	c.producerPaused.Store(p.paused.Load())
	params := sp
	sc := &sctpDataConsumer{dataConsumer: c, sctp: &params, data: d}
	// Known before any message can open the stream (watch).
	d.mu.Lock()
	d.consumers[sid] = sc
	d.mu.Unlock()
	release := func() { d.release(sid) }
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
	c.onMessage.On(func(m dataMessage) {
		if d.send(&params, m.msg, m.ppid) == errSendBufferFull {
			emit(&c.onBufferFull)
		}
	})
	c.OnClose(release)
	t.onNewDataConsumer.Emit(sc)
	return sc, nil
}

// consumerStreamParameters are, as mediasoup's, the producer's stream
// parameters (ordered for a direct producer) overridden by the options.
func consumerStreamParameters(p *dataProducer, o *media.DataConsumerOptions) media.SctpStreamParameters {
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
	return sp
}

// allocate takes the next free outgoing stream id: one no data consumer
// uses and whose stream, if any, is open (not waiting for the peer's
// answer to a reset).
func (d *sctpData) allocate() (uint16, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.params.OS
	for i := 0; i < n; i++ {
		sid := uint16((d.nextOut + i) % n)
		if st := d.streams[sid]; !d.outIDs[sid] && (st == nil || st.State() == sctp.StreamStateOpen) {
			d.outIDs[sid] = true
			d.nextOut = int(sid) + 1
			return sid, nil
		}
	}
	return 0, media.NewError(media.ErrInvalidState, "no free SCTP stream on transport %s (OS %d)", d.t.id, n)
}

// release frees a data consumer's stream id and resets its stream: the
// peer's reader of it ends.
func (d *sctpData) release(sid uint16) {
	d.mu.Lock()
	delete(d.outIDs, sid)
	delete(d.consumers, sid)
	st := d.out[sid]
	delete(d.out, sid)
	d.mu.Unlock()
	if st != nil {
		_ = st.Close()
	}
}

// errSendBufferFull says a message was dropped because the association
// holds sctpSendBufferSize bytes already.
var errSendBufferFull = errors.New("SCTP send buffer full")

// errNotConnected says a message was dropped because the association is
// not connected.
var errNotConnected = errors.New("SCTP not connected")

// send writes one message on a data consumer's stream, opening it on
// first use. Messages before SCTP is connected are dropped, as mediasoup
// does; so are messages beyond maxMessageSize and those that would
// overfill the send buffer (errSendBufferFull).
func (d *sctpData) send(sp *media.SctpStreamParameters, msg []byte, ppid int) error {
	if len(msg) > d.params.MaxMessageSize {
		return fmt.Errorf("message of %d bytes beyond maxMessageSize %d", len(msg), d.params.MaxMessageSize)
	}
	id := uint16(sp.StreamID)
	d.mu.Lock()
	st := d.out[id]
	var assoc *sctp.Association
	if st == nil && d.outIDs[id] {
		assoc = d.assoc()
		if assoc != nil {
			if st = d.streams[id]; st == nil {
				var err error
				if st, err = assoc.OpenStream(id, sctp.PayloadProtocolIdentifier(ppid)); err != nil {
					d.mu.Unlock()
					return err
				}
				d.read(st)
			}
			setReliability(st, sp)
			d.out[id] = st
			if c := d.consumers[id]; c != nil {
				c.watch(st)
			}
		}
	}
	d.mu.Unlock()
	if st == nil {
		return errNotConnected
	}
	if d.sendBufferSize > 0 {
		if assoc == nil {
			assoc = d.assoc()
		}
		if assoc != nil && assoc.BufferedAmount()+len(msg) > d.sendBufferSize {
			return errSendBufferFull
		}
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
	_, err := st.WriteSCTP(msg, sctp.PayloadProtocolIdentifier(ppid))
	return err
}

func setReliability(st *sctp.Stream, sp *media.SctpStreamParameters) {
	switch {
	case sp.MaxPacketLifeTime != nil:
		st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeTimed, uint32(*sp.MaxPacketLifeTime))
	case sp.MaxRetransmits != nil:
		st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeRexmit, uint32(*sp.MaxRetransmits))
	default:
		st.SetReliabilityParams(!sp.IsOrdered(), sctp.ReliabilityTypeReliable, 0)
	}
}

// accept starts reading a stream the peer opened (unless a data
// consumer opened the same stream meanwhile).
func (d *sctpData) accept(st *sctp.Stream) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.streams[st.StreamIdentifier()] != st {
		d.read(st)
	}
}

// read starts a reader on st; call with mu held.
func (d *sctpData) read(st *sctp.Stream) {
	if d.stopped {
		return
	}
	d.streams[st.StreamIdentifier()] = st
	d.readers.Add(1)
	go d.readStream(st)
}

// readStream hands each message of st to the data producer of its stream
// id, until the stream or the association ends. Messages beyond
// maxMessageSize are dropped, as mediasoup does.
func (d *sctpData) readStream(st *sctp.Stream) {
	defer d.readers.Done()
	defer d.t.router.worker.recoverPanic("SCTP stream reader")
	id := st.StreamIdentifier()
	buf := make([]byte, min(readBufSize, d.params.MaxMessageSize+1))
	for {
		msg, ppid, err := readMessage(st, buf)
		if err != nil {
			d.streamEnded(st, err)
			return
		}
		if ppid == ppidDCEP || len(msg) > d.params.MaxMessageSize {
			continue
		}
		if ppid == media.PPIDStringEmpty || ppid == media.PPIDBinaryEmpty {
			msg = msg[:0]
		}
		d.mu.Lock()
		p := d.producers[id]
		d.mu.Unlock()
		if p == nil || p.closed.Load() {
			continue
		}
		msg = append([]byte(nil), msg...) // consumers may keep it
		d.t.loopCallback(func() { p.receiveSCTP(msg, ppid) })
	}
}

// stop keeps readers from starting, before the transport waits for
// those running.
func (d *sctpData) stop() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
}

// streamEnded forgets a stream the association no longer has. When the
// peer reset it (io.EOF) and no data consumer writes on it, the
// transport resets its side too.
func (d *sctpData) streamEnded(st *sctp.Stream, err error) {
	id := st.StreamIdentifier()
	d.mu.Lock()
	if d.streams[id] == st {
		delete(d.streams, id)
	}
	writing := d.out[id] == st
	d.mu.Unlock()
	if errors.Is(err, io.EOF) && !writing {
		_ = st.Close()
	}
}

// readMessage reads one message into buf, or into a buffer of its size
// when it is larger (the association's receive buffer bounds it).
func readMessage(st *sctp.Stream, buf []byte) ([]byte, int, error) {
	n, ppi, err := st.ReadSCTP(buf)
	if errors.Is(err, io.ErrShortBuffer) {
		buf = make([]byte, n)
		n, ppi, err = st.ReadSCTP(buf)
	}
	if err != nil {
		return nil, 0, err
	}
	return buf[:n], int(ppi), nil
}

// receiveSCTP fans a message from the peer out to the consumers, as
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

// streamIDTable is the dump's sctpListener: incoming stream ids and their
// data producers.
func (d *sctpData) streamIDTable() []media.KeyValue {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]media.KeyValue, 0, len(d.producers))
	for sid, p := range d.producers {
		out = append(out, media.KeyValue{Key: itoa(uint32(sid)), Value: p.id})
	}
	return out
}

// mediasoup's defaults of the SCTP options.
const (
	defaultSctpStreams = 1024
	// defaultSctpMessageSize is the maxSctpMessageSize and
	// sctpSendBufferSize of WebRTC and plain transports.
	defaultSctpMessageSize = 262144
	// defaultPipeSctpMessageSize is those of pipe transports.
	defaultPipeSctpMessageSize = 268435456
	// sctpPort is the SCTP port of every association (mediasoup's).
	sctpPort = 5000
)

// sctpConfig validates a transport's SCTP options and fills in the
// defaults: 1024 streams each way, and def for the message and send
// buffer sizes.
func sctpConfig(num *media.NumSctpStreams, maxMessage, sendBuffer, def int) (media.SctpParameters, int, error) {
	p := media.SctpParameters{Port: sctpPort, OS: defaultSctpStreams, MIS: defaultSctpStreams, MaxMessageSize: def}
	if num != nil {
		if num.OS < 1 || num.OS > 65535 || num.MIS < 1 || num.MIS > 65535 {
			return p, 0, &media.ParamError{Field: "numSctpStreams", Reason: "OS and MIS must be 1..65535"}
		}
		p.OS, p.MIS = num.OS, num.MIS
	}
	switch {
	case maxMessage < 0 || maxMessage > 1<<31-1:
		return p, 0, &media.ParamError{Field: "maxSctpMessageSize", Reason: fmt.Sprintf("%d out of range", maxMessage)}
	case sendBuffer < 0:
		return p, 0, &media.ParamError{Field: "sctpSendBufferSize", Reason: "negative"}
	}
	if maxMessage > 0 {
		p.MaxMessageSize = maxMessage
	}
	if sendBuffer == 0 {
		sendBuffer = def
	}
	return p, sendBuffer, nil
}
