package mediaserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/engine"
	"github.com/ropehq/rope/media/mediaserver"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// rawPeer is a ROPE connection read message by message, in order, so a
// test sees exactly which notifications came before a response.
type rawPeer struct {
	t    *testing.T
	ws   *websocket.Conn
	next int
}

// wireMsg is a received message.
type wireMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rope.Error     `json:"error"`
}

func dialRaw(t *testing.T, url string) *rawPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	p := &rawPeer{t: t, ws: ws}
	if m := p.read(); m.Method != rope.MethodInit {
		t.Fatalf("first message %q", m.Method)
	}
	return p
}

func (p *rawPeer) read() wireMsg {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := p.ws.Read(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var m wireMsg
	if err := json.Unmarshal(data, &m); err != nil {
		p.t.Fatal(err)
	}
	return m
}

// call makes a rope.call and returns the packet notifications read
// before its response, and the response.
func (p *rawPeer) call(object, method string, params any) ([]mediaserver.PacketNotification, wireMsg) {
	p.t.Helper()
	p.next++
	id := strconv.Itoa(p.next)
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": p.next, "method": rope.MethodCall,
		"params": map[string]any{"object": object, "method": method, "params": params}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.ws.Write(ctx, websocket.MessageText, req); err != nil {
		p.t.Fatal(err)
	}
	var pkts []mediaserver.PacketNotification
	for {
		m := p.read()
		switch {
		case string(m.ID) == id:
			return pkts, m
		case m.Method == mediaserver.NotifyRTP || m.Method == mediaserver.NotifyRTCP:
			var n mediaserver.PacketNotification
			if err := json.Unmarshal(m.Params, &n); err != nil {
				p.t.Fatal(err)
			}
			pkts = append(pkts, n)
		}
	}
}

func (p *rawPeer) mustCall(object, method string, params any) []mediaserver.PacketNotification {
	p.t.Helper()
	pkts, resp := p.call(object, method, params)
	if resp.Error != nil {
		p.t.Fatalf("%s.%s: %v", object, method, resp.Error)
	}
	return pkts
}

// directScene is a producer on one DirectTransport consumed on another,
// created by the server application and exposed to clients.
type directScene struct {
	url      string
	ms       *mediaserver.Server
	router   media.Router
	producer media.Producer
	consumer media.Consumer
	src, dst media.DirectTransport
	ids      map[string]string // ROPE ids: "producer", "consumer", "src"
	sender   *mediatest.VP8Sender
}

func newDirectScene(t *testing.T, opts *mediaserver.Options) *directScene {
	t.Helper()
	ctx := context.Background()
	if opts == nil {
		opts = &mediaserver.Options{}
	}
	opts.Logger = quiet
	rs := ropeserver.New(&ropeserver.Options{Logger: quiet})
	api := engine.New(nil)
	ms, err := mediaserver.Register(rs, api, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(rs)
	w, err := api.CreateWorker(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ms.Close(ctx)
		w.Close(ctx)
		rs.Close()
		hs.Close()
	})
	if _, err := ms.AddWorker(w); err != nil {
		t.Fatal(err)
	}
	s := &directScene{url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/", ms: ms, ids: map[string]string{},
		sender: &mediatest.VP8Sender{SSRC: 5555, PT: 101}}
	r := mustV[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	s.router = r
	s.src = mustV[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	s.dst = mustV[media.DirectTransport](t)(r.CreateDirectTransport(ctx, nil))
	s.producer = mustV[media.Producer](t)(s.src.Produce(ctx, &media.ProducerOptions{Kind: media.KindVideo, RtpParameters: mediatest.VP8Parameters(5555)}))
	s.consumer = mustV[media.Consumer](t)(s.dst.Consume(ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	for name, m := range map[string]any{"producer": s.producer, "consumer": s.consumer, "src": s.src, "dst": s.dst} {
		id, ok := ms.ObjectID(m)
		if !ok {
			t.Fatalf("%s not served", name)
		}
		s.ids[name] = id
	}
	return s
}

func mustV[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// send sends one RTP packet through the peer's Producer.send and returns
// the packet notifications the peer read before the response.
func (s *directScene) send(t *testing.T, p *rawPeer, key bool) []mediaserver.PacketNotification {
	t.Helper()
	return p.mustCall(s.ids["producer"], "send", mediaserver.PacketParams{Packet: s.sender.Next(t, key, 300)})
}

// TestPacketsOnlyToSubscribers: a consumer's RTP reaches a connection
// from its subscribeRtp until its unsubscribeRtp, in the same order as
// the engine emits it (before the response to the send that caused it),
// and never a connection that did not subscribe.
func TestPacketsOnlyToSubscribers(t *testing.T) {
	s := newDirectScene(t, nil)
	a, b := dialRaw(t, s.url), dialRaw(t, s.url)
	if got := s.send(t, a, true); len(got) != 0 {
		t.Fatalf("%d packets before any subscription", len(got))
	}
	a.mustCall(s.ids["consumer"], "subscribeRtp", nil)
	a.mustCall(s.ids["consumer"], "subscribeRtp", nil) // idempotent
	got := s.send(t, a, false)
	if len(got) != 1 || got[0].Object != s.ids["consumer"] {
		t.Fatalf("packets after subscribing: %+v", got)
	}
	if got := s.send(t, b, false); len(got) != 0 {
		t.Fatalf("the other connection got %d packets", len(got))
	}
	a.mustCall(s.ids["consumer"], "unsubscribeRtp", nil)
	if got := s.send(t, a, false); len(got) != 0 {
		t.Fatalf("%d packets after unsubscribing", len(got))
	}

	// RTCP: a PLI handed to the consumer's transport reaches the
	// producer's transport as a keyframe request.
	a.mustCall(s.ids["src"], "subscribeRtcp", nil)
	pli := []byte{0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}
	ssrc := s.consumer.RtpParameters().Encodings[0].SSRC
	pli[8], pli[9], pli[10], pli[11] = byte(ssrc>>24), byte(ssrc>>16), byte(ssrc>>8), byte(ssrc)
	rtcp := a.mustCall(s.ids["dst"], "sendRtcp", mediaserver.PacketParams{Packet: pli})
	if len(rtcp) == 0 || rtcp[0].Object != s.ids["src"] || rtcp[0].Packet[1] != 0xce {
		t.Fatalf("rtcp after sendRtcp: %+v", rtcp)
	}
}

// TestPacketBounds: packets beyond MaxPacketBytes are refused; a
// connection subscribes to at most MaxPacketSubscriptions streams; a
// consumer not on a DirectTransport has no RTP stream; a subscription
// ends with its connection, freeing its slot.
func TestPacketBounds(t *testing.T) {
	s := newDirectScene(t, &mediaserver.Options{MaxPacketBytes: 400, MaxPacketSubscriptions: 1})
	a := dialRaw(t, s.url)
	_, resp := a.call(s.ids["producer"], "send", mediaserver.PacketParams{Packet: s.sender.Next(t, false, 500)})
	if resp.Error == nil || resp.Error.Data.Name != media.NameTypeError || !strings.Contains(resp.Error.Message, "limit of 400") {
		t.Fatalf("oversized packet: %+v", resp.Error)
	}
	_, resp = a.call(s.ids["dst"], "sendRtcp", map[string]string{"packet": base64.StdEncoding.EncodeToString(make([]byte, 401))})
	if resp.Error == nil || resp.Error.Data.Name != media.NameTypeError {
		t.Fatalf("oversized rtcp: %+v", resp.Error)
	}
	a.mustCall(s.ids["consumer"], "subscribeRtp", nil)
	_, resp = a.call(s.ids["src"], "subscribeRtcp", nil)
	if resp.Error == nil || resp.Error.Code != rope.CodeInvalidState {
		t.Fatalf("second subscription: %+v", resp.Error)
	}
	b := dialRaw(t, s.url)
	b.mustCall(s.ids["consumer"], "unsubscribeRtp", nil) // not subscribed: no-op
	b.mustCall(s.ids["consumer"], "subscribeRtp", nil)
	if n := s.ms.PacketSubscriptions(); n != 2 {
		t.Fatalf("%d subscriptions, want 2", n)
	}
	// A connection's end ends its subscriptions.
	a.ws.Close(websocket.StatusNormalClosure, "")
	wait.Until(t, "a's subscription gone", func() bool { return s.ms.PacketSubscriptions() == 1 })
	// So does the stream's object.
	if err := s.consumer.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "b's subscription gone with the consumer", func() bool { return s.ms.PacketSubscriptions() == 0 })
	b.mustCall(s.ids["src"], "subscribeRtcp", nil)
}

// TestRtpOnlyOfDirectConsumers: a consumer of a plain transport has no
// "rtp" stream to subscribe to.
func TestRtpOnlyOfDirectConsumers(t *testing.T) {
	s := newDirectScene(t, nil)
	ctx := context.Background()
	plain := mustV[media.PlainTransport](t)(s.router.CreatePlainTransport(ctx, &media.PlainTransportOptions{ListenInfo: &media.TransportListenInfo{Protocol: media.ProtocolUDP, IP: "127.0.0.1"}}))
	c := mustV[media.Consumer](t)(plain.Consume(ctx, &media.ConsumerOptions{ProducerID: s.producer.ID(), RtpCapabilities: mediatest.EndpointCaps()}))
	id, ok := s.ms.ObjectID(c)
	if !ok {
		t.Fatal("consumer not served")
	}
	a := dialRaw(t, s.url)
	_, resp := a.call(id, "subscribeRtp", nil)
	if resp.Error == nil || resp.Error.Data.Name != media.NameTypeError {
		t.Fatalf("subscribeRtp on a plain transport's consumer: %+v", resp.Error)
	}
	if n := s.ms.PacketSubscriptions(); n != 0 {
		t.Fatalf("%d subscriptions after a refused one", n)
	}
}
