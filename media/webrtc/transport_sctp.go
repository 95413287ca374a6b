package webrtc

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/pion/dtls/v3"
	"github.com/pion/sctp"

	"github.com/ropehq/rope/media/internal/pionlog"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
)

// SCTPState is an SCTP state with mediasoup's names.
type SCTPState uint8

// SCTP states.
const (
	SCTPStateNew SCTPState = iota
	SCTPStateConnecting
	SCTPStateConnected
	SCTPStateFailed
	SCTPStateClosed
)

var sctpStateNames = [...]string{"new", "connecting", "connected", "failed", "closed"}

// String returns mediasoup's name of s.
func (s SCTPState) String() string {
	if int(s) < len(sctpStateNames) {
		return sctpStateNames[s]
	}
	return "unknown"
}

// MarshalText encodes s as mediasoup's name.
func (s SCTPState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Default SCTP stream counts announced in sctpParameters (mediasoup's
// numSctpStreams default). pion/sctp itself accepts any stream id.
const (
	sctpPort       = 5000
	sctpNumStreams = 1024
)

func (t *Transport) sctpParameters() *SCTPParameters {
	if !t.opts.EnableSCTP {
		return nil
	}
	return &SCTPParameters{Port: sctpPort, OS: orDefault(t.opts.SCTPStreamsOS), MIS: orDefault(t.opts.SCTPStreamsMIS),
		MaxMessageSize: t.opts.MaxSCTPMessageSize}
}

func orDefault(n uint16) uint16 {
	if n == 0 {
		return sctpNumStreams
	}
	return n
}

// SCTPState returns the SCTP state (new when SCTP is disabled).
func (t *Transport) SCTPState() SCTPState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sctpState
}

// SCTPAssociation returns the association once SCTP is connected, for
// opening streams (association.OpenStream, or datachannel.Dial with
// Negotiated for mediasoup-client's negotiated channels).
func (t *Transport) SCTPAssociation() (*sctp.Association, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.assoc == nil {
		return nil, ErrNoSCTP
	}
	return t.assoc, nil
}

// runSCTP establishes the association over DTLS (both WebRTC ends send
// INIT; pion's client side handles the collision) and then accepts
// streams until the association ends.
func (t *Transport) runSCTP(ctx context.Context, conn *dtls.Conn) {
	t.setSCTPState(SCTPStateConnecting)
	watched := &dtlsWatch{Conn: conn, t: t}
	assoc, err := sctp.ClientContext(ctx,
		sctp.WithNetConn(watched),
		sctp.WithLoggerFactory(pionlog.Factory{Logger: t.logger, Quiet: t.ending}),
		sctp.WithMaxMessageSize(t.opts.MaxSCTPMessageSize),
		sctp.WithEnableZeroChecksum(false),
	)
	if err != nil {
		if ctx.Err() == nil {
			// A peer that never opened a data channel and left (DTLS
			// ended) is no failure worth a warning.
			level := slog.LevelWarn
			if t.ending() {
				level = slog.LevelDebug
			}
			t.logger.Log(context.Background(), level, "webrtc: SCTP failed", "err", err)
			t.setSCTPState(SCTPStateFailed)
		}
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = assoc.Close()
		return
	}
	t.assoc = assoc
	t.mu.Unlock()
	t.setSCTPState(SCTPStateConnected)
	for {
		st, err := assoc.AcceptStream()
		if err != nil {
			t.sctpEnded()
			return
		}
		if st.StreamIdentifier() >= orDefault(t.opts.SCTPStreamsMIS) {
			t.logger.Warn("webrtc: resetting an SCTP stream beyond MIS", "stream", st.StreamIdentifier())
			_ = st.Close()
			continue
		}
		if f := t.opts.OnSCTPStream; f != nil {
			f(st)
		}
	}
}

// ending reports whether the transport is closing or DTLS has ended: the
// association's errors then are that end, not failures to warn about.
func (t *Transport) ending() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed || t.dtlsState == dtlstransport.StateClosed || t.dtlsState == dtlstransport.StateFailed
}

// sctpEnded records the association's end unless the transport is
// closing.
func (t *Transport) sctpEnded() {
	t.mu.Lock()
	closing := t.closed
	t.mu.Unlock()
	if !closing {
		t.setSCTPState(SCTPStateClosed)
	}
}

// setSCTPState moves SCTP to st and tells OnSCTPStateChange. Nothing
// happens when SCTP is disabled.
func (t *Transport) setSCTPState(st SCTPState) {
	if !t.opts.EnableSCTP {
		return
	}
	t.mu.Lock()
	if t.closed || t.sctpState == st || t.sctpState == SCTPStateClosed {
		t.mu.Unlock()
		return
	}
	t.sctpState = st
	t.mu.Unlock()
	if f := t.opts.OnSCTPStateChange; f != nil {
		f(st)
	}
}

// dtlsWatch is the DTLS conn as SCTP reads and writes it; a read error, or
// a write refused as fatal (the conn closed: pion's ErrConnClosed, or its
// closed inner conn), is the end of DTLS (peer close_notify or failure).
// The write side matters: after a close_notify pion's conn refuses writes
// at once, and the association's write loop can meet that (and log it)
// before its read loop sees the end. A socket's errors (full, unreachable)
// come back as net.Error, not fatal, and are not the end.
type dtlsWatch struct {
	*dtls.Conn
	t *Transport
}

var _ net.Conn = (*dtlsWatch)(nil)

func (d *dtlsWatch) Read(p []byte) (int, error) {
	n, err := d.Conn.Read(p)
	if err != nil {
		d.t.dtlsEnded(err)
	}
	return n, err
}

func (d *dtlsWatch) Write(p []byte) (int, error) {
	n, err := d.Conn.Write(p)
	if fatal := (*dtls.FatalError)(nil); errors.As(err, &fatal) {
		d.t.dtlsEnded(err)
	}
	return n, err
}
