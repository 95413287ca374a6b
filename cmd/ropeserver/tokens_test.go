package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/internal/wait"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/media/mediatest"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeauth"
	"github.com/ropehq/rope/ropeclient"
)

const (
	testSecret   = "the test secret of at least 32 bytes"
	testOperator = "shared-operator-token"
)

var testSigner = sync.OnceValue(func() *ropeauth.Signer {
	s, err := ropeauth.NewHMACSigner([]byte(testSecret))
	if err != nil {
		panic(err)
	}
	return s
})

func mintT(t testing.TB, c *ropeauth.Claims) string {
	t.Helper()
	tok, err := testSigner().Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawConn is a ROPE connection that keeps every byte the server sent it,
// so that tests can assert on what never reached it.
type rawConn struct {
	ws   *websocket.Conn
	done chan struct{}

	// mu guards the fields below.
	mu       sync.Mutex
	frames   [][]byte
	nextID   int
	waiting  map[int]chan json.RawMessage
	closeErr error
}

// dialRaw opens a ROPE connection presenting token; it returns the HTTP
// status when the handshake is refused.
func dialRaw(ctx context.Context, t testing.TB, url, token string) (*rawConn, int, error) {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{rope.Subprotocol}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, status, err
	}
	ws.SetReadLimit(64 << 20)
	c := &rawConn{ws: ws, done: make(chan struct{}), waiting: map[int]chan json.RawMessage{}}
	go c.read()
	t.Cleanup(c.close)
	return c, http.StatusSwitchingProtocols, nil
}

func (c *rawConn) read() {
	defer close(c.done)
	for {
		_, b, err := c.ws.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closeErr = err
			c.mu.Unlock()
			return
		}
		c.frames = append(c.frames, b)
		var m struct {
			ID *int `json:"id"`
		}
		if json.Unmarshal(b, &m) == nil && m.ID != nil {
			if ch, ok := c.waiting[*m.ID]; ok {
				ch <- b
				delete(c.waiting, *m.ID)
			}
		}
		c.mu.Unlock()
	}
}

func (c *rawConn) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// all is every byte received so far.
func (c *rawConn) all() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Join(c.frames, []byte("\n"))
}

// init is the connection's rope.init.
func (c *rawConn) init(t testing.TB) rope.InitParams {
	t.Helper()
	var p rope.InitParams
	wait.Until(t, "rope.init", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.frames) > 0
	})
	c.mu.Lock()
	first := c.frames[0]
	c.mu.Unlock()
	var m struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(first, &m); err != nil || m.Method != "rope.init" {
		t.Fatalf("first message %s", first)
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// call calls a method and returns its result, or its error as *rope.Error;
// "setAppData" sends rope.setAppData.
func (c *rawConn) call(ctx context.Context, object, method string, params any) (json.RawMessage, error) {
	if params == nil {
		params = struct{}{}
	}
	if method == "setAppData" {
		return c.request(ctx, "rope.setAppData", map[string]any{"object": object, "appData": params})
	}
	return c.request(ctx, "rope.call", map[string]any{"object": object, "method": method, "params": params})
}

// request sends one JSON-RPC request and waits for its response.
func (c *rawConn) request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, req); err != nil {
		return nil, err
	}
	select {
	case b := <-ch:
		var resp struct {
			Result json.RawMessage `json:"result"`
			Error  *rope.Error     `json:"error"`
		}
		if err := json.Unmarshal(b, &resp); err != nil {
			return nil, err
		}
		if resp.Error != nil {
			return nil, resp.Error
		}
		return resp.Result, nil
	case <-c.done:
		return nil, fmt.Errorf("connection closed: %w", c.closeErr)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *rawConn) create(ctx context.Context, t testing.TB, object, method string, params any) string {
	t.Helper()
	res, err := c.call(ctx, object, method, params)
	if err != nil {
		t.Fatalf("%s.%s: %v", object, method, err)
	}
	var cr rope.CreateResult
	if err := json.Unmarshal(res, &cr); err != nil || cr.ID == "" {
		t.Fatalf("%s.%s: result %s %v", object, method, res, err)
	}
	return cr.ID
}

// object returns the state of a visible object as this connection last
// received it in rope.created (or rope.init).
func (c *rawConn) object(t testing.TB, id string) rope.ObjectState {
	t.Helper()
	var found *rope.ObjectState
	wait.Until(t, "object "+id, func() bool {
		c.mu.Lock()
		frames := slices.Clone(c.frames)
		c.mu.Unlock()
		for _, f := range frames {
			var m struct {
				Method string `json:"method"`
				Params struct {
					Object  rope.ObjectState   `json:"object"`
					Objects []rope.ObjectState `json:"objects"`
				} `json:"params"`
			}
			if json.Unmarshal(f, &m) != nil {
				continue
			}
			for _, o := range append(m.Params.Objects, m.Params.Object) {
				if o.ID == id {
					found = &o
				}
			}
		}
		return found != nil
	})
	return *found
}

func wantCode(t testing.TB, what string, err error, code rope.Code) {
	t.Helper()
	var re *rope.Error
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("%s: %v, want error %d", what, err, code)
	}
}

// mediaRoom is a server with signed tokens and two rooms the operator
// made: two routers on one worker.
type mediaRoom struct {
	url          string
	worker       string
	roomA, roomB string
	caps         json.RawMessage
}

func startTokenServer(t *testing.T, args ...string) string {
	t.Helper()
	_, url := startRun(t, append([]string{"-workers", "in-process", "-demo=false", "-token-secret", testSecret,
		"-token", testOperator, "-token-leeway", "0"}, args...)...)
	return url
}

func newMediaRoom(ctx context.Context, t *testing.T) *mediaRoom {
	url := startTokenServer(t)
	api, err := mediaclient.Dial(ctx, url, &mediaclient.Options{ROPE: &ropeclient.Options{Token: testOperator, Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil))
	a := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	b := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: codecs}))
	caps, _ := json.Marshal(a.RtpCapabilities())
	m := &mediaRoom{url: url, roomA: a.ID(), roomB: b.ID(), caps: caps}
	op, _, err := dialRaw(ctx, t, url, testOperator)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range op.init(t).Objects {
		if o.Type == "Worker" {
			m.worker = o.ID
		}
	}
	if m.worker == "" {
		t.Fatal("no worker in the operator's view")
	}
	op.close()
	return m
}

// participant joins the room of router with a participant token.
func (m *mediaRoom) participant(ctx context.Context, t *testing.T, router, subject string) *rawConn {
	t.Helper()
	c, status, err := dialRaw(ctx, t, m.url, mintT(t, ropeauth.Participant(router, subject, time.Hour)))
	if err != nil {
		t.Fatalf("%s: handshake %d: %v", subject, status, err)
	}
	return c
}

// publish creates a WebRTC transport and a VP8 producer on it.
func publish(ctx context.Context, t *testing.T, c *rawConn, router string, ssrc uint32) (transport, producer string) {
	t.Helper()
	transport = c.create(ctx, t, router, "createWebRtcTransport", map[string]any{"enableSctp": true})
	producer = c.create(ctx, t, transport, "produce", map[string]any{"kind": "video", "rtpParameters": mediatest.VP8Parameters(ssrc)})
	return transport, producer
}

// secretsOf returns what of a transport's state must never reach another
// participant: its ICE username fragment and password, its whole
// iceParameters, and its state as an object. (The transport's id does
// reach others, as the parent of its producers; its dtlsParameters are
// the worker's certificate's fingerprints, the same on every transport
// of the worker.)
func secretsOf(t *testing.T, st rope.ObjectState) []string {
	t.Helper()
	var ice struct {
		UsernameFragment string `json:"usernameFragment"`
		Password         string `json:"password"`
	}
	if err := json.Unmarshal(st.Props["iceParameters"], &ice); err != nil || ice.Password == "" || ice.UsernameFragment == "" {
		t.Fatalf("iceParameters %s: %v", st.Props["iceParameters"], err)
	}
	return []string{ice.UsernameFragment, ice.Password, string(st.Props["iceParameters"]),
		`"id":"` + st.ID + `","type":"WebRtcTransport"`}
}

func wantAbsent(t *testing.T, who string, raw []byte, what string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%s received %s %q", who, what, s)
		}
	}
}

// TestParticipantSeesItsRoomOnly: participants of room A see the room's
// router and each other's producers, never another participant's
// transport (ICE and DTLS parameters, checked on the raw bytes received),
// and nothing of room B; the participant of room B nothing of room A.
func TestParticipantSeesItsRoomOnly(t *testing.T) {
	ctx := ctxT(t)
	m := newMediaRoom(ctx, t)
	alice := m.participant(ctx, t, m.roomA, "alice")
	init := alice.init(t)
	if !init.View || len(init.Objects) != 1 || init.Objects[0].ID != m.roomA {
		t.Fatalf("alice's rope.init: view %v, objects %+v; want the router alone", init.View, init.Objects)
	}
	aliceT, aliceP := publish(ctx, t, alice, m.roomA, 1111)
	aliceSecrets := secretsOf(t, alice.object(t, aliceT)) // alice sees her own

	bob := m.participant(ctx, t, m.roomA, "bob")
	carol := m.participant(ctx, t, m.roomB, "carol")
	bobT, bobP := publish(ctx, t, bob, m.roomA, 2222)
	bobSecrets := secretsOf(t, bob.object(t, bobT))
	carolT, carolP := publish(ctx, t, carol, m.roomB, 3333)
	carolSecrets := secretsOf(t, carol.object(t, carolT))

	// Each sees the other's producer, and consumes it.
	if st := bob.object(t, aliceP); st.Type != "Producer" || st.Parent == nil || *st.Parent != aliceT {
		t.Fatalf("bob's view of alice's producer: %+v", st)
	}
	alice.object(t, bobP)
	consumer := bob.create(ctx, t, bobT, "consume", map[string]any{"producerId": aliceP, "rtpCapabilities": m.caps, "paused": true})
	if _, err := bob.call(ctx, consumer, "resume", nil); err != nil {
		t.Fatal(err)
	}
	// An operator's later change, a marker every view of room A gets.
	op, _, err := dialRaw(ctx, t, m.url, testOperator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.call(ctx, m.roomA, "setAppData", map[string]any{"marker": 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*rawConn{alice, bob} {
		wait.Until(t, "the marker", func() bool { return bytes.Contains(c.all(), []byte(`"marker":1`)) })
	}
	wait.Until(t, "carol's producer in the operator's view", func() bool { return bytes.Contains(op.all(), []byte(carolP)) })

	wantAbsent(t, "bob", bob.all(), "alice's transport", aliceSecrets...)
	wantAbsent(t, "alice", alice.all(), "bob's transport", bobSecrets...)
	wantAbsent(t, "alice", alice.all(), "bob's consumer", consumer)
	for _, c := range []struct {
		name string
		c    *rawConn
	}{{"alice", alice}, {"bob", bob}} {
		wantAbsent(t, c.name, c.c.all(), "room B", append(carolSecrets, carolP, m.roomB, `"type":"Worker"`, `"type":"MediaService"`, `"id":"fixture"`)...)
	}
	wantAbsent(t, "carol", carol.all(), "room A", append(append(aliceSecrets, bobSecrets...), aliceP, bobP, consumer, m.roomA, `"type":"Worker"`)...)
}

// TestParticipantRefusedOutsideGrant: every method outside a participant's
// grant answers -32004 on the objects it sees, and objects it does not
// see answer -32001, for every method of the catalogue.
func TestParticipantRefusedOutsideGrant(t *testing.T) {
	ctx := ctxT(t)
	m := newMediaRoom(ctx, t)
	alice := m.participant(ctx, t, m.roomA, "alice")
	aliceT, aliceP := publish(ctx, t, alice, m.roomA, 1111)
	bob := m.participant(ctx, t, m.roomA, "bob")
	bobT, bobP := publish(ctx, t, bob, m.roomA, 2222)
	bob.object(t, aliceP)
	types := map[string][]string{}
	for _, ti := range bob.init(t).Types {
		types[ti.Name] = ti.Methods
	}
	grant := ropeauth.Participant(m.roomA, "bob", time.Hour).Rope.Calls
	allowed := func(typ, method string, own bool) bool {
		ms := grant[typ]
		return slices.Contains(ms.Any, method) || own && slices.Contains(ms.Own, method)
	}
	// Visible objects: the router, bob's transport and producer, alice's producer.
	visible := []struct {
		id, typ string
		own     bool
	}{{m.roomA, "Router", false}, {bobT, "WebRtcTransport", true}, {bobP, "Producer", true}, {aliceP, "Producer", false}}
	refused := 0
	for _, v := range visible {
		for _, method := range append(slices.Clone(types[v.typ]), "setAppData") {
			if allowed(v.typ, method, v.own) {
				continue
			}
			_, err := bob.call(ctx, v.id, method, nil)
			wantCode(t, fmt.Sprintf("bob: %s %s.%s", v.typ, v.id, method), err, rope.CodeUnauthorized)
			refused++
		}
	}
	// Hidden or outside the room: alice's transport, the worker, the media root, room B.
	for _, o := range []struct{ id, typ string }{{aliceT, "WebRtcTransport"}, {m.worker, "Worker"}, {"media", "MediaService"}, {m.roomB, "Router"}} {
		for _, method := range types[o.typ] {
			_, err := bob.call(ctx, o.id, method, nil)
			wantCode(t, fmt.Sprintf("bob: hidden %s %s.%s", o.typ, o.id, method), err, rope.CodeObjectNotFound)
			refused++
		}
	}
	// The named cases of the issue, spelled out.
	_, err := bob.call(ctx, aliceP, "close", nil)
	wantCode(t, "bob closes alice's producer", err, rope.CodeUnauthorized)
	_, err = bob.call(ctx, m.worker, "createRouter", map[string]any{"mediaCodecs": codecs})
	wantCode(t, "bob creates a router", err, rope.CodeObjectNotFound)
	_, err = bob.call(ctx, "media", "createWorker", nil)
	wantCode(t, "bob creates a worker", err, rope.CodeObjectNotFound)
	t.Logf("%d calls refused", refused)
	// Alice's producer is still there, and alice may close it.
	if _, err := alice.call(ctx, aliceP, "close", nil); err != nil {
		t.Fatal(err)
	}
}

// TestParticipantQuotas: a participant creates at most its quota of
// WebRTC transports (over all its connections); one more answers -32005
// before anything is created; closing one makes room.
func TestParticipantQuotas(t *testing.T) {
	ctx := ctxT(t)
	m := newMediaRoom(ctx, t)
	c1 := m.participant(ctx, t, m.roomA, "erin")
	c2 := m.participant(ctx, t, m.roomA, "erin") // the same subject on a second connection
	var ids []string
	for i := range ropeauth.ParticipantTransports {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		ids = append(ids, c.create(ctx, t, m.roomA, "createWebRtcTransport", nil))
	}
	_, err := c1.call(ctx, m.roomA, "createWebRtcTransport", nil)
	wantCode(t, "one transport past the quota", err, rope.CodeOverloaded)
	if _, err := c2.call(ctx, ids[1], "close", nil); err != nil {
		t.Fatal(err)
	}
	c1.create(ctx, t, m.roomA, "createWebRtcTransport", nil)
	// Producers: the quota holds on one transport too.
	for i := range ropeauth.ParticipantProducers {
		c1.create(ctx, t, ids[0], "produce", map[string]any{"kind": "video", "rtpParameters": mediatest.VP8Parameters(uint32(5000 + i))})
	}
	_, err = c1.call(ctx, ids[0], "produce", map[string]any{"kind": "video", "rtpParameters": mediatest.VP8Parameters(6000)})
	wantCode(t, "one producer past the quota", err, rope.CodeOverloaded)
	// Another participant has its own quota.
	other := m.participant(ctx, t, m.roomA, "frank")
	other.create(ctx, t, m.roomA, "createWebRtcTransport", nil)
}

// TestParticipantExpires: a participant's connection is closed with 4003
// when its token expires (the server allows no leeway here), and a new
// handshake with it is refused.
func TestParticipantExpires(t *testing.T) {
	ctx := ctxT(t)
	m := newMediaRoom(ctx, t)
	tok := mintT(t, ropeauth.Participant(m.roomA, "gina", 2*time.Second))
	c, status, err := dialRaw(ctx, t, m.url, tok)
	if err != nil {
		t.Fatalf("handshake %d: %v", status, err)
	}
	c.create(ctx, t, m.roomA, "createWebRtcTransport", nil)
	select {
	case <-c.done:
	case <-ctx.Done():
		t.Fatal("the connection outlived its token")
	}
	if got := websocket.CloseStatus(c.closeErr); got != rope.CloseGrantExpired {
		t.Fatalf("closed with %v (%v), want %d", got, c.closeErr, rope.CloseGrantExpired)
	}
	if _, status, err := dialRaw(ctx, t, m.url, tok); err == nil || status != http.StatusUnauthorized {
		t.Fatalf("handshake with the expired token: %d %v, want 401", status, err)
	}
}

// TestBadTokensRefusedAtHandshake: forged, expired, wrongly signed and
// alg-confused tokens get 401, on a server holding an HMAC secret, an
// Ed25519 public key and the shared operator token.
func TestBadTokensRefusedAtHandshake(t *testing.T) {
	ctx := ctxT(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := ropeauth.MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ed25519.pub.pem")
	if err := os.WriteFile(file, pubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	url := startTokenServer(t, "-token-public-key", file)
	edSigner, err := ropeauth.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := ropeauth.NewSigner(otherPriv)
	wrongSecret, _ := ropeauth.NewHMACSigner([]byte("not the server's secret, 32 bytes+"))
	sign := func(s *ropeauth.Signer, c *ropeauth.Claims) string {
		tok, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := ropeauth.Participant("room", "hal", time.Hour)
	expired := ropeauth.Participant("room", "hal", time.Hour)
	expired.ExpiresAt.Time = time.Now().Add(-time.Minute)
	expired.IssuedAt.Time = time.Now().Add(-time.Hour)
	// Accepted: each key's own tokens, and the operator token.
	for name, tok := range map[string]string{
		"HS256": sign(testSigner(), good), "EdDSA": sign(edSigner, good), "operator": testOperator,
		"operator JWT": sign(testSigner(), ropeauth.Operator("ops", 0)),
	} {
		if _, status, err := dialRaw(ctx, t, url, tok); err != nil {
			t.Fatalf("%s: %d %v", name, status, err)
		}
	}
	hsHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	opClaims := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"m","exp":%d,"rope":{"operator":true}}`, time.Now().Add(time.Hour).Unix())))
	mac := hmac.New(sha256.New, pubPEM)
	mac.Write([]byte(hsHeader + "." + opClaims))
	confused := hsHeader + "." + opClaims + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + opClaims + "."
	parts := strings.Split(sign(testSigner(), good), ".")
	parts[1] = opClaims // a participant's signature over an operator's claims
	forged := strings.Join(parts, ".")
	for name, tok := range map[string]string{
		"forged claims":                   forged,
		"expired":                         sign(testSigner(), expired),
		"another secret":                  sign(wrongSecret, good),
		"another Ed25519 key":             sign(otherSigner, good),
		"HS256 keyed with the public key": confused,
		"alg none":                        none,
		"near miss of the operator token": testOperator + "x",
		"none at all":                     "",
	} {
		if _, status, err := dialRaw(ctx, t, url, tok); err == nil || status != http.StatusUnauthorized {
			t.Errorf("%s: handshake %d %v, want 401", name, status, err)
		}
	}
}

// TestMafaldaParticipant: a MafaldaParticipant token sees its
// MafaldaRouter's room and produces in it; another room's participant
// sees none of it.
func TestMafaldaParticipant(t *testing.T) {
	ctx := ctxT(t)
	url := startTokenServer(t, "-media-mode", "mafalda")
	rc, err := ropeclient.Dial(ctx, url, &ropeclient.Options{Token: testOperator, Logger: quiet, Dedicated: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	svc := mafaldaclient.New(rc, &mafaldaclient.Options{Logger: quiet})
	opts := &mafalda.MafaldaRouterOptions{RouterOptions: media.RouterOptions{MediaCodecs: codecs}}
	roomA := must[mafalda.Router](t)(svc.CreateRouter(ctx, opts))
	roomB := must[mafalda.Router](t)(svc.CreateRouter(ctx, opts))
	join := func(room, subject string) *rawConn {
		c, status, err := dialRaw(ctx, t, url, mintT(t, ropeauth.MafaldaParticipant(room, subject, time.Hour)))
		if err != nil {
			t.Fatalf("%s: %d %v", subject, status, err)
		}
		return c
	}
	alice := join(roomA.ID(), "alice")
	if init := alice.init(t); len(init.Objects) != 1 || init.Objects[0].Type != "MafaldaRouter" {
		t.Fatalf("alice's rope.init objects %+v", init.Objects)
	}
	aliceT, aliceP := publish(ctx, t, alice, roomA.ID(), 1111)
	secrets := secretsOf(t, alice.object(t, aliceT))
	bob := join(roomA.ID(), "bob")
	bob.object(t, aliceP)
	carol := join(roomB.ID(), "carol")
	_, err = carol.call(ctx, "mafalda", "createMafaldaRouter", opts)
	wantCode(t, "carol creates a MafaldaRouter", err, rope.CodeObjectNotFound)
	_, err = bob.call(ctx, roomA.ID(), "close", nil)
	wantCode(t, "bob closes the room", err, rope.CodeUnauthorized)
	bobT, _ := publish(ctx, t, bob, roomA.ID(), 2222)
	bob.object(t, bobT)
	wantAbsent(t, "bob", bob.all(), "alice's transport", secrets...)
	wantAbsent(t, "carol", carol.all(), "room A", append(secrets, aliceP, roomA.ID())...)
}

// TestParticipantPresetsNameServedMethods: every type and method the
// presets name is in the catalogue a media and a Mafalda server announce.
func TestParticipantPresetsNameServedMethods(t *testing.T) {
	ctx := ctxT(t)
	url := startTokenServer(t, "-media-mode", "mafalda")
	op, _, err := dialRaw(ctx, t, url, testOperator)
	if err != nil {
		t.Fatal(err)
	}
	catalogue := map[string][]string{}
	for _, ti := range op.init(t).Types {
		catalogue[ti.Name] = ti.Methods
	}
	for _, c := range []*ropeauth.Claims{ropeauth.Participant("r", "s", time.Hour), ropeauth.MafaldaParticipant("r", "s", time.Hour)} {
		for typ, ms := range c.Rope.Calls {
			served, ok := catalogue[typ]
			if !ok {
				t.Errorf("calls name type %q, not served", typ)
			}
			for _, m := range append(slices.Clone(ms.Any), ms.Own...) {
				if !slices.Contains(served, m) {
					t.Errorf("calls name %s.%s, not served (%v)", typ, m, served)
				}
			}
		}
		for typ := range c.Rope.Hide {
			if _, ok := catalogue[typ]; !ok {
				t.Errorf("hide names type %q, not served", typ)
			}
		}
		for typ := range c.Rope.Quotas {
			if _, ok := catalogue[typ]; !ok {
				t.Errorf("quotas name type %q, not served", typ)
			}
		}
	}
}

// TestTokenFlags: the token flags and their environment variables, the
// secret file, and the configurations refused.
func TestTokenFlags(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pubPEM, _ := ropeauth.MarshalPublicKeyPEM(pub)
	pubFile := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubFile, pubPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROPE_TOKEN_SECRET_FILE": secretFile, "ROPE_TOKEN_PUBLIC_KEY": pubFile,
		"ROPE_TOKEN_AUDIENCE": "rope-test", "ROPE_TOKEN_LEEWAY": "5s"}
	cfg, err := parseConfig([]string{"-listen", "0.0.0.0"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("signed tokens beyond loopback: %v", err)
	}
	tk := cfg.tokens
	if len(tk.secrets) != 1 || string(tk.secrets[0]) != testSecret || len(tk.publicKeys) != 1 || tk.audience != "rope-test" || tk.leeway != 5*time.Second {
		t.Fatalf("tokens %+v", tk)
	}
	none := func(string) string { return "" }
	for name, args := range map[string][]string{
		"short secret":             {"-token-secret", "short"},
		"secret and file":          {"-token-secret", testSecret, "-token-secret-file", secretFile},
		"missing secret file":      {"-token-secret-file", filepath.Join(dir, "nope")},
		"not a public key":         {"-token-public-key", secretFile},
		"no token beyond loopback": {"-listen", "0.0.0.0"},
	} {
		if _, err := parseConfig(args, none); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestMintTokenCommand: "ropeserver mint-token" prints tokens the server's
// verifier accepts, with the grant asked for, and refuses bad flags.
func TestMintTokenCommand(t *testing.T) {
	none := func(string) string { return "" }
	v, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{Secrets: [][]byte{[]byte(testSecret)}})
	if err != nil {
		t.Fatal(err)
	}
	mintOut := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := mintToken(args, none, &out, &errb)
		return strings.TrimSpace(out.String()), code
	}
	tok, code := mintOut("-router", "r1", "-subject", "alice", "-ttl", "10m", "-token-secret", testSecret)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	c, err := v.Verify(tok)
	if err != nil || c.Subject != "alice" || c.Rope.Roots[0] != "r1" || c.ExpiresAt.Sub(c.IssuedAt.Time) != 10*time.Minute {
		t.Fatalf("claims %+v %v", c, err)
	}
	tok, _ = mintOut("-mafalda-router", "m1", "-token-secret", testSecret)
	if c, err := v.Verify(tok); err != nil || c.Rope.Calls["MafaldaRouter"].Any == nil {
		t.Fatalf("mafalda claims %+v %v", c, err)
	}
	tok, _ = mintOut("-operator", "-ttl", "0", "-token-secret", testSecret)
	if c, err := v.Verify(tok); err != nil || !c.Rope.Operator || c.ExpiresAt != nil {
		t.Fatalf("operator claims %+v %v", c, err)
	}
	for name, args := range map[string][]string{
		"no key":            {"-router", "r"},
		"two grants":        {"-router", "r", "-operator", "-token-secret", testSecret},
		"no grant":          {"-token-secret", testSecret},
		"participant ttl 0": {"-router", "r", "-ttl", "0", "-token-secret", testSecret},
		"empty subject":     {"-router", "r", "-subject", "", "-token-secret", testSecret},
		"bad flag":          {"-nope"},
	} {
		if out, code := mintOut(args...); code != 2 || out != "" {
			t.Errorf("%s: exit %d, printed %q", name, code, out)
		}
	}
}

// TestClusterEndpointTokens: a cluster whose servers share -token-secret
// and no -token. The endpoint presents an operator token signed with the
// secret to the servers (its workers land there); clients of the
// endpoint present signed tokens too: an operator's makes a room, a
// participant's sees that room only and is refused outside it; no token
// is refused at the endpoint and at the server.
func TestClusterEndpointTokens(t *testing.T) {
	bin := buildServer(t)
	common := []string{"-port", "0", "-cluster", "-cluster-heartbeat", testHeartbeat, "-workers", "in-process",
		"-token-secret", testSecret, "-demo=false"}
	a := startProcess(t, bin, append([]string{"-listen", "127.0.0.2", "-nats-listen", "127.0.0.2:0"}, common...)...)
	natsURL := a.loggedValue(t, `msg="ropeserver: embedded NATS listening"`, "url=")
	e := startProcess(t, bin, append([]string{"-listen", "127.0.0.4", "-nats", natsURL, "-cluster-endpoint"}, common...)...)
	urlA := a.stdoutValue(t, "ropeserver: listening on ")
	idA := defaultServerID(urlA)
	urlE := e.stdoutValue(t, "ropeserver: listening on ")
	wait.Until(t, "the endpoint sees the server", func() bool { return e.logged(`msg="registry: server joined"`, "peer="+idA) })
	ctx := ctxT(t)
	for _, url := range []string{urlA, urlE} {
		if _, status, err := dialRaw(ctx, t, url, ""); err == nil || status != http.StatusUnauthorized {
			t.Fatalf("%s without a token: %d %v, want 401", url, status, err)
		}
	}
	api, err := mediaclient.Dial(ctx, urlE, &mediaclient.Options{Logger: quiet,
		ROPE: &ropeclient.Options{Logger: quiet, Dedicated: true, Token: mintT(t, ropeauth.Operator("ops", time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	w := must[media.Worker](t)(api.CreateWorker(ctx, nil)) // on server A, through the endpoint's operator token
	room := must[media.Router](t)(w.CreateRouter(ctx, &media.RouterOptions{MediaCodecs: mediatest.MediaCodecs()}))
	p, status, err := dialRaw(ctx, t, urlE, mintT(t, ropeauth.Participant(room.ID(), "alice", time.Hour)))
	if err != nil {
		t.Fatalf("participant at the endpoint: %d %v", status, err)
	}
	if init := p.init(t); len(init.Objects) != 1 || init.Objects[0].ID != room.ID() {
		t.Fatalf("participant's view %+v", init.Objects)
	}
	tr, prod := publish(ctx, t, p, room.ID(), 1234)
	p.object(t, tr)
	p.object(t, prod)
	_, err = p.call(ctx, "media", "createWorker", nil)
	wantCode(t, "participant creates a worker", err, rope.CodeObjectNotFound)
	_, err = p.call(ctx, room.ID(), "close", nil)
	wantCode(t, "participant closes the room", err, rope.CodeUnauthorized)
}
