package ropeclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/ropehq/rope/rope"
)

// Object is the mirror of a server object. Its state reads are local; its
// methods are calls to the server.
type Object struct {
	sess   *session
	id     string
	typ    string
	parent string

	// Guarded by sess.mu.
	props   map[string]json.RawMessage
	appData json.RawMessage
	closed  bool

	onClose  listeners[func()]
	onUpdate listeners[func(changed map[string]json.RawMessage)]
	onEvent  listeners[func(event string, data json.RawMessage)]
}

// ID is the object's id.
func (o *Object) ID() string { return o.id }

// Type is the name of the object's type.
func (o *Object) Type() string { return o.typ }

// ParentID is the id of the object's parent, or "".
func (o *Object) ParentID() string { return o.parent }

// Closed reports whether the object has closed.
func (o *Object) Closed() bool {
	o.sess.mu.Lock()
	defer o.sess.mu.Unlock()
	return o.closed
}

// Prop returns a property's JSON value (nil when unset).
func (o *Object) Prop(name string) json.RawMessage {
	o.sess.mu.Lock()
	defer o.sess.mu.Unlock()
	return o.props[name]
}

// DecodeProp decodes a property into v.
func (o *Object) DecodeProp(name string, v any) error {
	raw := o.Prop(name)
	if raw == nil {
		return fmt.Errorf("ropeclient: %s %s has no property %q", o.typ, o.id, name)
	}
	return json.Unmarshal(raw, v)
}

// Props returns a copy of all properties.
func (o *Object) Props() map[string]json.RawMessage {
	o.sess.mu.Lock()
	defer o.sess.mu.Unlock()
	return maps.Clone(o.props)
}

// AppData returns the object's appData as JSON.
func (o *Object) AppData() json.RawMessage {
	o.sess.mu.Lock()
	defer o.sess.mu.Unlock()
	return o.appData
}

// Call calls one of the object's methods and decodes its result into
// result (unless nil). Errors from the server are *rope.Error.
func (o *Object) Call(ctx context.Context, method string, params, result any) error {
	if o.Closed() {
		return fmt.Errorf("ropeclient: %s.%s on %s: %w", o.typ, method, o.id, ErrObjectClosed)
	}
	raw, err := o.sess.request(ctx, rope.MethodCall, callParams{Object: o.id, Method: method, Params: params})
	if err != nil {
		return err
	}
	return decodeResult(raw, result)
}

type callParams struct {
	Object string `json:"object"`
	Method string `json:"method"`
	Params any    `json:"params,omitempty"`
}

// SetAppData replaces the object's appData on the server.
func (o *Object) SetAppData(ctx context.Context, appData any) error {
	_, err := o.sess.request(ctx, rope.MethodSetAppData, map[string]any{"object": o.id, "appData": appData})
	return err
}

// OnClose registers fn for when the object closes.
func (o *Object) OnClose(fn func()) (off func()) { return o.onClose.add(fn) }

// OnUpdate registers fn for property and appData changes; changed holds
// the changed properties (appData under the key "appData" when it changed).
// After a reconnection with a full snapshot, a property the snapshot no
// longer has is removed and listed with a nil value (spec §7.6.1).
func (o *Object) OnUpdate(fn func(changed map[string]json.RawMessage)) (off func()) {
	return o.onUpdate.add(fn)
}

// OnEvent registers fn for the object's events.
func (o *Object) OnEvent(fn func(event string, data json.RawMessage)) (off func()) {
	return o.onEvent.add(fn)
}

func decodeResult(raw json.RawMessage, result any) error {
	if result == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("ropeclient: decode result: %w", err)
	}
	return nil
}

// apply applies one server notification to the mirror.
func (s *session) apply(msg *rope.Message) error {
	switch msg.Method {
	case rope.MethodInit:
		var p rope.InitParams
		if err := json.Unmarshal(msg.Params, &p); err != nil {
			return fmt.Errorf("ropeclient: bad rope.init: %w", err)
		}
		s.init(&p)
		return nil
	case rope.MethodCreated, rope.MethodUpdated, rope.MethodClosed, rope.MethodEvent:
		return s.applySequenced(msg)
	}
	s.emit(func(c *Client) {
		c.onNotification.each(func(f func(string, json.RawMessage)) { f(msg.Method, msg.Params) })
	})
	return nil
}

func (s *session) applySequenced(msg *rope.Message) error {
	var sq rope.SeqOnly
	if err := json.Unmarshal(msg.Params, &sq); err != nil {
		return fmt.Errorf("ropeclient: bad %s: %w", msg.Method, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sq.Seq <= s.seq:
		return nil // already applied
	case sq.Seq != s.seq+1 && !s.view:
		return fmt.Errorf("ropeclient: sequence gap: got %d after %d", sq.Seq, s.seq)
	}
	if err := s.applyLocked(msg); err != nil {
		return err
	}
	s.seq = sq.Seq
	return nil
}

func (s *session) applyLocked(msg *rope.Message) error {
	switch msg.Method {
	case rope.MethodCreated:
		var p rope.CreatedParams
		if err := json.Unmarshal(msg.Params, &p); err != nil {
			return err
		}
		s.createLocked(p.Object)
	case rope.MethodUpdated:
		var p rope.UpdatedParams
		if err := json.Unmarshal(msg.Params, &p); err != nil {
			return err
		}
		if o := s.objects[p.ID]; o != nil {
			s.updateLocked(o, p.Props, p.AppData)
		}
	case rope.MethodClosed:
		var p rope.ClosedParams
		if err := json.Unmarshal(msg.Params, &p); err != nil {
			return err
		}
		if o := s.objects[p.ID]; o != nil {
			s.closeLocked(o)
		}
	case rope.MethodEvent:
		var p rope.EventParams
		if err := json.Unmarshal(msg.Params, &p); err != nil {
			return err
		}
		if o := s.objects[p.ID]; o != nil {
			s.events.post(func() { o.onEvent.each(func(f func(string, json.RawMessage)) { f(p.Event, p.Data) }) })
		}
	}
	return nil
}

func (s *session) createLocked(st rope.ObjectState) *Object {
	o := &Object{sess: s, id: st.ID, typ: st.Type, props: st.Props, appData: st.AppData}
	if st.Parent != nil {
		o.parent = *st.Parent
	}
	if o.props == nil {
		o.props = map[string]json.RawMessage{}
	}
	s.objects[o.id] = o
	clients := s.clientsLocked()
	s.events.post(func() {
		for _, c := range clients {
			c.onCreated.each(func(f func(*Object)) { f(o) })
		}
	})
	return o
}

func (s *session) updateLocked(o *Object, props map[string]json.RawMessage, appData json.RawMessage) {
	changed := make(map[string]json.RawMessage, len(props)+1)
	for k, v := range props {
		if !bytes.Equal(o.props[k], v) {
			o.props[k] = v
			changed[k] = v
		}
	}
	if appData != nil && !bytes.Equal(o.appData, appData) {
		o.appData = appData
		changed["appData"] = appData
	}
	if len(changed) > 0 {
		s.events.post(func() { o.onUpdate.each(func(f func(map[string]json.RawMessage)) { f(changed) }) })
	}
}

// closeLocked closes o and, should the server not have said so first, its
// descendants.
func (s *session) closeLocked(o *Object) {
	delete(s.objects, o.id) // first, so a parent cycle cannot recurse forever
	for _, c := range s.objects {
		if c.parent == o.id {
			s.closeLocked(c)
		}
	}
	o.closed = true
	s.events.post(func() { o.onClose.each(func(f func()) { f() }) })
}

func (s *session) clientsLocked() []*Client {
	out := make([]*Client, 0, len(s.clients))
	for c := range s.clients {
		out = append(out, c)
	}
	return out
}

// init applies rope.init: after a resume the replay follows; otherwise the
// snapshot is reconciled with the mirror, so every object that closed
// meanwhile fires close and every change fires its update.
func (s *session) init(p *rope.InitParams) {
	s.mu.Lock()
	s.types = make(map[string]rope.TypeInfo, len(p.Types))
	for _, t := range p.Types {
		s.types[t.Name] = t
	}
	s.payload = p.Payload
	if p.Session != nil {
		s.sessionID = p.Session.ID
	}
	if !p.Resumed {
		s.reconcileLocked(p.Objects)
	}
	s.epoch, s.seq, s.view = p.Epoch, p.Seq, p.View
	if s.state != Closing {
		s.state = Connected
	}
	select {
	case <-s.connected:
	default:
		close(s.connected)
	}
	s.mu.Unlock()
	s.emit(func(c *Client) { c.onConnected.each(func(f func()) { f() }) })
}

// reconcileLocked transforms the mirror into the snapshot (spec §7.6): an
// object whose id, type or parent differ is closed (children first), the
// others take the snapshot's props and appData, then the new ones are
// created in snapshot order.
func (s *session) reconcileLocked(objects []rope.ObjectState) {
	snap := make(map[string]*rope.ObjectState, len(objects))
	for i := range objects {
		snap[objects[i].ID] = &objects[i]
	}
	gone := make([]*Object, 0)
	for id, o := range s.objects {
		if n := snap[id]; n == nil || !o.sameObject(n) {
			gone = append(gone, o)
		}
	}
	// Children before parents: the deeper object first.
	slices.SortFunc(gone, func(a, b *Object) int { return s.depthLocked(b) - s.depthLocked(a) })
	for _, o := range gone {
		if s.objects[o.id] == o {
			s.closeLocked(o)
		}
	}
	for _, st := range objects {
		if o := s.objects[st.ID]; o != nil {
			s.replaceLocked(o, st.Props, st.AppData)
			continue
		}
		s.createLocked(st)
	}
}

// sameObject reports whether st is the same object as o (spec §7.6): same
// id, type and parent.
func (o *Object) sameObject(st *rope.ObjectState) bool {
	parent := ""
	if st.Parent != nil {
		parent = *st.Parent
	}
	return o.typ == st.Type && o.parent == parent
}

// replaceLocked gives o the props and appData of a snapshot. The change
// lists every key whose value differs, JSON-equal values being the same;
// a key the snapshot lacks is removed and listed with a nil value.
func (s *session) replaceLocked(o *Object, props map[string]json.RawMessage, appData json.RawMessage) {
	changed := map[string]json.RawMessage{}
	for k, v := range props {
		if old, ok := o.props[k]; !ok || !jsonEqual(old, v) {
			changed[k] = v
		}
	}
	for k := range o.props {
		if _, ok := props[k]; !ok {
			changed[k] = nil
		}
	}
	if len(changed) > 0 {
		o.props = maps.Clone(props)
		if o.props == nil {
			o.props = map[string]json.RawMessage{}
		}
	}
	if appData != nil && !jsonEqual(o.appData, appData) {
		o.appData = appData
		changed["appData"] = appData
	}
	if len(changed) > 0 {
		s.events.post(func() { o.onUpdate.each(func(f func(map[string]json.RawMessage)) { f(changed) }) })
	}
}

// jsonEqual compares two JSON values structurally (JSON-equal, spec §1.3):
// member order and escapes aside, numbers as doubles.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func (s *session) depthLocked(o *Object) int {
	d := 0
	for p := s.objects[o.parent]; p != nil && d < 1000; p = s.objects[p.parent] {
		d++
	}
	return d
}
