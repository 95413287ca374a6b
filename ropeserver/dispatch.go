package ropeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ropehq/rope/rope"
)

// callTarget is what a rope.call names, for logs and Options.OnCall.
type callTarget struct {
	// object is the id called; label is "<Type>.<method>" for a method the
	// object's type has (set only when Options.OnCall is).
	object, label string
}

// dispatch runs one request and returns its JSON result; a rope.call
// fills *target.
func (s *Server) dispatch(ctx context.Context, c *Conn, msg *rope.Message, target *callTarget) (json.RawMessage, error) {
	switch msg.Method {
	case rope.MethodCall:
		return s.call(ctx, c, msg.Params, target)
	case rope.MethodSetAppData:
		return s.setAppData(ctx, c, msg.Params)
	case rope.MethodPing:
		return json.Marshal(rope.PingResult{Seq: s.Seq()})
	}
	fn, ok := s.opts.Methods[msg.Method]
	if !ok || strings.HasPrefix(msg.Method, rope.ReservedPrefix) {
		e := rope.NewError(rope.CodeMethodNotFound, "method %q not found", msg.Method)
		e.Data.Method = msg.Method
		return nil, e
	}
	if err := c.allowed(nil, msg.Method); err != nil {
		return nil, err
	}
	return run(ctx, fn, &Call{Method: msg.Method, Params: msg.Params, Conn: c})
}

func (s *Server) call(ctx context.Context, c *Conn, params json.RawMessage, target *callTarget) (json.RawMessage, error) {
	var p rope.CallParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Object == "" || p.Method == "" {
		return nil, rope.NewError(rope.CodeInvalidParams, "rope.call needs non-empty object and method")
	}
	target.object = p.Object
	obj, err := s.objectFor(c, p.Object)
	if err != nil {
		return nil, err
	}
	fn, ok := obj.typ.Methods[p.Method]
	if !ok {
		e := rope.NewError(rope.CodeUnknownMethod, "type %s has no method %q", obj.typ.Name, p.Method)
		e.Data.Object, e.Data.Type, e.Data.Method = p.Object, obj.typ.Name, p.Method
		return nil, e
	}
	if s.opts.OnCall != nil {
		target.label = obj.typ.Name + "." + p.Method
	}
	if err := c.allowed(obj, p.Method); err != nil {
		return nil, err
	}
	return run(ctx, fn, &Call{Object: obj, Method: p.Method, Params: p.Params, Conn: c})
}

func (s *Server) setAppData(ctx context.Context, c *Conn, params json.RawMessage) (json.RawMessage, error) {
	var p rope.SetAppDataParams
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	if p.Object == "" || len(p.AppData) == 0 || p.AppData[0] != '{' {
		return nil, rope.NewError(rope.CodeInvalidParams, "rope.setAppData needs an object id and an appData object")
	}
	if int64(len(p.AppData)) > s.opts.MaxObjectBytes {
		return nil, rope.NewError(rope.CodeInvalidParams, "appData of %d bytes is over the server's object limit (%d)", len(p.AppData), s.opts.MaxObjectBytes)
	}
	obj, err := s.objectFor(c, p.Object)
	if err != nil {
		return nil, err
	}
	if err := c.allowed(obj, MethodSetAppData); err != nil {
		return nil, err
	}
	if hook := obj.typ.OnSetAppData; hook != nil {
		before := obj.appDataSetCount()
		if err := hook(ctx, obj, p.AppData); err != nil {
			return nil, err
		}
		if obj.appDataSetCount() != before {
			return nil, nil // the hook applied it: one rope.updated (§8.2.2)
		}
	}
	// The decoder checked p.AppData: a JSON object.
	if err := obj.setAppDataRaw(p.AppData); err != nil {
		return nil, err
	}
	return nil, nil
}

// objectFor is the live object id that c sees; an object outside its view
// answers as one that does not exist (spec §18.6).
func (s *Server) objectFor(c *Conn, id string) (*Object, error) {
	s.mu.Lock()
	o, ok := s.objects[id]
	if ok && c.view != nil {
		ok = c.view.sees(o)
	}
	s.mu.Unlock()
	if !ok {
		e := rope.NewError(rope.CodeObjectNotFound, "no object %q", id)
		e.Data.Object = id
		return nil, e
	}
	return o, nil
}

// decodeParams decodes a params object with rope.Unmarshal: a non-object
// or wrong member types are InvalidParams; names match exactly, unknown
// members are ignored (spec §1.4.1, §1.4.2).
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || params[0] != '{' {
		return rope.NewError(rope.CodeInvalidParams, "params must be an object")
	}
	if err := rope.Unmarshal(params, v); err != nil {
		return rope.NewError(rope.CodeInvalidParams, "bad params: %v", err)
	}
	return nil
}

func run(ctx context.Context, fn MethodFunc, call *Call) (raw json.RawMessage, err error) {
	defer call.releaseReserved() // slots Reserve took that Own did not use (lease.go)
	defer func() {
		// A panicking method answers InternalError (spec §9.3.1); the
		// server and its other connections go on.
		if p := recover(); p != nil {
			raw, err = nil, fmt.Errorf("method %s panicked: %v", call.Method, p)
		}
	}()
	res, err := fn(ctx, call)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, nil
	}
	raw, err = marshalValue(res)
	if err != nil {
		return nil, rope.NewError(rope.CodeInternalError, "encode result of %s: %v", call.Method, err)
	}
	return raw, nil
}
