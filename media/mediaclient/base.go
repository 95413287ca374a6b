package mediaclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeclient"
)

// ROPE type names (spec/media-v1.md).
const (
	typeWorker                = "Worker"
	typeRouter                = "Router"
	typeWebRtcServer          = "WebRtcServer"
	typeWebRtcTransport       = "WebRtcTransport"
	typePlainTransport        = "PlainTransport"
	typePipeTransport         = "PipeTransport"
	typeDirectTransport       = "DirectTransport"
	typeProducer              = "Producer"
	typeConsumer              = "Consumer"
	typeDataProducer          = "DataProducer"
	typeDataConsumer          = "DataConsumer"
	typeActiveSpeakerObserver = "ActiveSpeakerObserver"
	typeAudioLevelObserver    = "AudioLevelObserver"
)

// base is what every remote media object has: its mirror.
type base struct {
	c *Client
	o *ropeclient.Object
}

func newWrapper(b *base) any {
	switch b.c.catalogueType(b.o.Type()) {
	case typeWorker:
		return &worker{b}
	case typeRouter:
		return &router{b}
	case typeWebRtcServer:
		return newWebRtcServer(b)
	case typeWebRtcTransport:
		return &webRtcTransport{transport{b}}
	case typePlainTransport:
		return &plainTransport{transport{b}}
	case typePipeTransport:
		return &pipeTransport{transport{b}}
	case typeDirectTransport:
		return &directTransport{transport{b}}
	case typeProducer:
		return &producer{b}
	case typeConsumer:
		return &consumer{b}
	case typeDataProducer:
		return &dataProducer{b}
	case typeDataConsumer:
		return &dataConsumer{b}
	case typeActiveSpeakerObserver:
		return &activeSpeakerObserver{rtpObserver{b}}
	case typeAudioLevelObserver:
		return &audioLevelObserver{rtpObserver{b}}
	}
	return b
}

// ID is the object's ROPE id, which is its media id (producers and data
// producers override it).
func (b *base) ID() string   { return b.o.ID() }
func (b *base) Closed() bool { return b.o.Closed() }

// AppData decodes the mirror's appData. JSON numbers that are integers
// decode as int, others as float64.
func (b *base) AppData() media.AppData { return decodeAppData(b.o.AppData()) }

// SetAppData replaces the appData on the server (rope.setAppData), waiting
// at most Options.Timeout; a failure is logged. It does nothing once the
// object has closed.
func (b *base) SetAppData(d media.AppData) {
	if d == nil {
		d = media.AppData{}
	}
	if b.o.Closed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.c.opts.Timeout)
	defer cancel()
	if err := b.o.SetAppData(ctx, d); err != nil {
		b.c.opts.Logger.Error("mediaclient: setAppData", "object", b.o.ID(), "type", b.o.Type(), "err", err)
	}
}

// OnAppDataChange fires when the mirror's appData changes, whoever changed
// it (media.AppDataNotifier).
func (b *base) OnAppDataChange(fn func(media.AppData)) func() {
	return b.o.OnUpdate(func(changed map[string]json.RawMessage) {
		if raw, ok := changed["appData"]; ok {
			fn(decodeAppData(raw))
		}
	})
}

// OnClose fires once the mirror closes.
func (b *base) OnClose(fn func()) func() { return b.o.OnClose(fn) }

// call calls a method, failing with media.ErrClosed at once when the
// mirror is closed, and maps the server's errors to media errors.
func (b *base) call(ctx context.Context, method string, params, result any) error {
	if b.o.Closed() {
		return media.NewError(media.ErrClosed, "%s %s closed", b.o.Type(), b.o.ID())
	}
	if params == nil {
		params = struct{}{}
	}
	if err := b.o.Call(ctx, method, params, result); err != nil {
		return fromWire(fmt.Errorf("mediaclient: %s.%s: %w", b.o.Type(), method, err))
	}
	return nil
}

// closeAttempts bounds how often close asks again after the connection
// dropped with its call in flight.
const closeAttempts = 3

// close calls "close" unless the mirror is closed: Close is idempotent
// and, as mediasoup's (which ignores its channel's errors), fails only
// when the server refuses it or ctx ends. A connection that drops with
// the call in flight leaves it unknown whether the server closed the
// object: close asks again once the connection is back (an object closed
// meanwhile answers as closed). With no server to ask (the client closed,
// or its server gone for good) there is nothing left to close here; a
// server that still holds the object closes it when its lease ends
// (spec §17).
func (b *base) close(ctx context.Context) error {
	for range closeAttempts {
		if b.o.Closed() || b.c.buried.Load() {
			return nil
		}
		err := b.call(ctx, "close", nil, nil)
		var refused *rope.Error
		switch {
		case err == nil, errors.Is(err, media.ErrClosed):
			return nil
		case errors.As(err, &refused), ctx.Err() != nil:
			return err
		case !errors.Is(err, ropeclient.ErrDisconnected):
			return nil
		}
	}
	return nil
}

// create calls a method that creates an object and returns its mirror.
func (b *base) create(ctx context.Context, method string, params any) (*ropeclient.Object, error) {
	var res rope.CreateResult
	if err := b.call(ctx, method, params, &res); err != nil {
		return nil, err
	}
	o, ok := b.c.rc.Object(res.ID)
	if !ok {
		return nil, media.NewError(media.ErrClosed, "%s: created object %s closed already", method, res.ID)
	}
	return o, nil
}

// endEvents announce an object's end (its parent's, or its source's);
// each reaches a listener at most once, even when a local close (Bury,
// Retire) replays one the server's own cascade had sent just before the
// connection ended.
var endEvents = map[string]bool{
	"workerclose": true, "routerclose": true, "transportclose": true, "listenserverclose": true,
	"producerclose": true, "dataproducerclose": true,
}

// on registers fn for a data-less event.
func (b *base) on(event string, fn func()) func() {
	var once sync.Once
	return b.o.OnEvent(func(e string, _ json.RawMessage) {
		switch {
		case e != event:
		case endEvents[e]:
			once.Do(fn)
		default:
			fn()
		}
	})
}

// onData registers fn for an event whose data decodes as T.
func onData[T any](b *base, event string, fn func(T)) func() {
	return b.o.OnEvent(func(e string, data json.RawMessage) {
		if e != event {
			return
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			b.c.opts.Logger.Error("mediaclient: bad event data", "object", b.o.ID(), "event", e, "err", err)
			return
		}
		fn(v)
	})
}

// onChild registers fn for every object of the given types that appears
// under this one; the registration ends when this object closes.
func (b *base) onChild(fn func(any), types ...string) func() {
	off := b.c.rc.OnObjectCreated(func(o *ropeclient.Object) {
		if o.ParentID() != b.o.ID() {
			return
		}
		for _, t := range types {
			if o.Type() == t {
				fn(b.c.wrap(o))
				return
			}
		}
	})
	offClose := b.o.OnClose(off)
	return func() { off(); offClose() }
}

// object returns the wrapper of the object with that ROPE id.
func (b *base) object(id string) (any, bool) {
	o, ok := b.c.rc.Object(id)
	if !ok {
		return nil, false
	}
	return b.c.wrap(o), true
}

// get decodes a property (its zero value when absent or malformed).
func get[T any](b *base, name string) T {
	var v T
	_ = b.o.DecodeProp(name, &v)
	return v
}

func decodeAppData(raw json.RawMessage) media.AppData {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return media.AppData{}
	}
	return media.AppData(normalize(m).(map[string]any))
}

// normalize turns json.Numbers into int when integral, else float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && int64(int(i)) == i {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
