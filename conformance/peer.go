package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Frame is one recorded WebSocket event of a peer.
type Frame struct {
	Peer string `json:"peer"`
	// Dir is "sent", "received" or "note".
	Dir string `json:"dir"`
	// Type is "text", "binary", "close" or "handshake".
	Type string `json:"type"`
	// Size is the payload length in bytes; Data may be cut short.
	Size int       `json:"size"`
	Data string    `json:"data"`
	At   time.Time `json:"at"`
}

// Recording limits per peer: frames beyond maxFrames are counted, not kept,
// and frame data is cut at maxFrameData bytes.
const (
	maxFrames    = 400
	maxFrameData = 2048
)

// Peer is a raw ROPE client: it sends frames as given, reads and decodes the
// server's messages and records both.
type Peer struct {
	t    *T
	name string
	ws   *websocket.Conn
	// HTTPResponse is the HTTP response of the handshake.
	HTTPResponse *http.Response
	nextID       int
	// LastSeq is the seq of the last sequenced notification read (or of
	// rope.init); Gap describes the first discontinuity seen.
	LastSeq uint64
	Gap     string
	// Seen holds the sequenced notifications read, by seq.
	Seen map[uint64]*Msg

	probes int

	// mu guards the recording.
	mu      sync.Mutex
	frames  []Frame
	omitted int
}

// Dial connects a peer named name (it names its frames in the report) and
// fails the case if the handshake is refused.
func (t *T) Dial(name string, o DialOptions) *Peer {
	p, err := t.TryDial(name, o)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// TryDial connects a peer; a refused handshake returns the error, and the
// peer (without a connection) still carries the HTTP response.
func (t *T) TryDial(name string, o DialOptions) (*Peer, error) {
	p := &Peer{t: t, name: name}
	p.record("sent", "handshake", []byte(t.target.describeHandshake(o)))
	ws, resp, err := t.target.handshake(t.ctx, o)
	p.HTTPResponse = resp
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	p.record("received", "handshake", []byte(fmt.Sprintf("HTTP %d subprotocol %q", status, subprotocolOf(resp))))
	t.addPeer(p)
	if err != nil {
		return p, err
	}
	p.ws = ws
	return p, nil
}

func subprotocolOf(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Header.Get("Sec-WebSocket-Protocol")
}

// Connect dials with the default options and reads rope.init.
func (t *T) Connect(name string) (*Peer, *Init) {
	p := t.Dial(name, DialOptions{})
	return p, p.Init()
}

// Subprotocol is the subprotocol the server selected.
func (p *Peer) Subprotocol() string { return p.ws.Subprotocol() }

func (p *Peer) record(dir, typ string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.frames) >= maxFrames {
		p.omitted++
		return
	}
	d := data
	if len(d) > maxFrameData {
		d = d[:maxFrameData]
	}
	p.frames = append(p.frames, Frame{Peer: p.name, Dir: dir, Type: typ, Size: len(data), Data: string(d), At: time.Now()})
}

// Frames returns the recorded frames, with a note on those omitted.
func (p *Peer) Frames() []Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]Frame(nil), p.frames...)
	if p.omitted > 0 {
		out = append(out, Frame{Peer: p.name, Dir: "note", Type: "omitted", Data: strconv.Itoa(p.omitted) + " more frames not recorded", At: time.Now()})
	}
	return out
}

// Send writes one text message as given.
func (p *Peer) Send(raw string) {
	p.write(websocket.MessageText, []byte(raw))
}

// SendBinary writes one binary message.
func (p *Peer) SendBinary(raw []byte) {
	p.write(websocket.MessageBinary, raw)
}

func (p *Peer) write(typ websocket.MessageType, data []byte) {
	kind := "text"
	if typ == websocket.MessageBinary {
		kind = "binary"
	}
	p.record("sent", kind, data)
	if err := p.ws.Write(p.t.ctx, typ, data); err != nil {
		p.t.Fatalf("%s: write: %v", p.name, err)
	}
}

// Drop ends the connection abruptly, without a close frame.
func (p *Peer) Drop() {
	if p.ws != nil {
		_ = p.ws.CloseNow()
	}
}

// TryRead reads the next message; a closed connection is an error whose
// websocket.CloseStatus is the close code.
func (p *Peer) TryRead() (*Msg, error) {
	typ, data, err := p.ws.Read(p.t.ctx)
	if err != nil {
		if code := websocket.CloseStatus(err); code != -1 {
			p.record("received", "close", []byte(strconv.Itoa(int(code))))
		}
		return nil, fmt.Errorf("%s: read: %w", p.name, err)
	}
	kind := "text"
	if typ == websocket.MessageBinary {
		kind = "binary"
	}
	p.record("received", kind, data)
	if typ == websocket.MessageBinary {
		return nil, fmt.Errorf("%s: server sent a binary message (§3.1.1)", p.name)
	}
	m, err := decodeMsg(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.name, err)
	}
	p.track(m)
	return m, nil
}

// Read reads the next message or fails the case. Responses to the probes
// of Answer are skipped.
func (p *Peer) Read() *Msg {
	for {
		m, err := p.TryRead()
		if err != nil {
			p.t.Fatalf("%v", err)
		}
		if !isProbe(m) {
			return m
		}
	}
}

// probePrefix starts the ids of Answer's probes.
const probePrefix = `"probe-`

func isProbe(m *Msg) bool { return m.IsResponse() && strings.HasPrefix(string(m.ID), probePrefix) }

// Response reads the next response, skipping sequenced notifications.
func (p *Peer) Response() *Msg {
	for {
		m := p.Read()
		if _, ok := m.Seq(); !ok {
			return m
		}
	}
}

// Answer returns the next response after a message that must be answered
// without being executed (a -32700 or -32600 with id null),
// skipping sequenced notifications. It sends rope.ping probes after it and
// fails the case when three probe round trips complete without the answer,
// so a missing answer costs no timeout.
func (p *Peer) Answer() *Msg {
	for range 3 {
		p.probes++
		id := fmt.Sprintf("%sa%d\"", probePrefix, p.probes)
		p.Send(`{"jsonrpc":"2.0","id":` + id + `,"method":"rope.ping"}`)
		if m := p.answerBefore(id); m != nil {
			return m
		}
	}
	p.t.Fatalf("%s: no answer (three later rope.ping requests were answered meanwhile)", p.name)
	return nil
}

// answerBefore reads until the probe's response, returning the first other
// response read before it.
func (p *Peer) answerBefore(probe string) *Msg {
	for {
		m, err := p.TryRead()
		if err != nil {
			p.t.Fatalf("%v", err)
		}
		if _, ok := m.Seq(); ok {
			continue
		}
		if !isProbe(m) {
			return m
		}
		if string(m.ID) == probe {
			return nil
		}
	}
}

func (p *Peer) track(m *Msg) {
	seq, ok := m.Seq()
	if !ok {
		return
	}
	if seq != p.LastSeq+1 && p.Gap == "" {
		p.Gap = fmt.Sprintf("%s: %s with seq %d after seq %d", p.name, m.Method, seq, p.LastSeq)
	}
	p.LastSeq = seq
	if p.Seen == nil {
		p.Seen = map[uint64]*Msg{}
	}
	p.Seen[seq] = m
}

// Request sends a request with a fresh integer id and returns the id's JSON
// text. params is marshalled unless it is a json.RawMessage; nil omits it.
func (p *Peer) Request(method string, params any) string {
	p.nextID++
	id := strconv.Itoa(p.nextID)
	p.Send(encodeRequest(id, method, params))
	return id
}

// Notify sends a notification (no id).
func (p *Peer) Notify(method string, params any) {
	p.Send(encodeRequest("", method, params))
}

func encodeRequest(id, method string, params any) string {
	m := map[string]any{"jsonrpc": "2.0", "method": method}
	if id != "" {
		m["id"] = json.RawMessage(id)
	}
	if params != nil {
		m["params"] = params
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("conformance: encode request: %v", err))
	}
	return string(b)
}

// Until reads up to the response with the given id text and returns the
// messages before it and the response.
func (p *Peer) Until(id string) ([]*Msg, *Msg) {
	var before []*Msg
	for {
		m := p.Read()
		if m.IsResponse() && string(m.ID) == id {
			return before, m
		}
		before = append(before, m)
	}
}

// Call sends rope.call and returns the messages before its response and
// the response.
func (p *Peer) Call(object, method string, params any) ([]*Msg, *Msg) {
	cp := map[string]any{"object": object, "method": method}
	if params != nil {
		cp["params"] = params
	}
	return p.Until(p.Request("rope.call", cp))
}

// MustCall is Call, failing the case on an error response.
func (p *Peer) MustCall(object, method string, params any) ([]*Msg, json.RawMessage) {
	notes, resp := p.Call(object, method, params)
	if resp.Error != nil {
		p.t.Fatalf("%s: %s.%s failed: %s", p.name, object, method, resp.Raw)
	}
	return notes, resp.Result
}

// CreateCounter creates a Counter with the given value and returns its id.
func (p *Peer) CreateCounter(value int64) string {
	_, res := p.MustCall(fixtureID, "createCounter", map[string]any{"value": value})
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res, &r); err != nil || r.ID == "" {
		p.t.Fatalf("%s: createCounter result %s: want {\"id\": string}", p.name, res)
	}
	return r.ID
}

// Ping calls rope.ping and returns its seq and the messages before the
// response.
func (p *Peer) Ping() (uint64, []*Msg) {
	notes, resp := p.Until(p.Request("rope.ping", nil))
	var r struct {
		Seq *uint64 `json:"seq"`
	}
	if resp.Error != nil || json.Unmarshal(resp.Result, &r) != nil || r.Seq == nil {
		p.t.Fatalf("%s: rope.ping answered %s, want {\"seq\": n}", p.name, resp.Raw)
	}
	return *r.Seq, notes
}

// Barrier makes two rope.ping round trips and fails the case if anything
// but sequenced notifications arrives meanwhile (a stray response). It
// returns the notifications read.
func (p *Peer) Barrier() []*Msg {
	var all []*Msg
	for range 2 {
		_, notes := p.Ping()
		for _, m := range notes {
			if _, ok := m.Seq(); !ok {
				p.t.Fatalf("%s: unexpected message %s", p.name, m.Raw)
			}
		}
		all = append(all, notes...)
	}
	return all
}

// CatchUp reads until the peer has seen seq.
func (p *Peer) CatchUp(seq uint64) []*Msg {
	var out []*Msg
	for p.LastSeq < seq {
		out = append(out, p.Read())
	}
	return out
}
