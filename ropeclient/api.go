package ropeclient

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/ropehq/rope/rope"
)

// Object returns the mirror of the object with that id.
func (c *Client) Object(id string) (*Object, bool) {
	s, err := c.session()
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[id]
	return o, ok
}

// Objects returns every mirrored object, sorted by id.
func (c *Client) Objects() []*Object {
	s, err := c.session()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	out := make([]*Object, 0, len(s.objects))
	for _, o := range s.objects {
		out = append(out, o)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Object) int { return strings.Compare(a.id, b.id) })
	return out
}

// Type returns the catalogue entry of a type.
func (c *Client) Type(name string) (rope.TypeInfo, bool) {
	s, err := c.session()
	if err != nil {
		return rope.TypeInfo{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.types[name]
	return t, ok
}

// Payload is the server's extra connection payload.
func (c *Client) Payload() json.RawMessage {
	s, err := c.session()
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payload
}

// Seq is the sequence number of the last notification applied.
func (c *Client) Seq() uint64 {
	s, err := c.session()
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// Call calls method on the object with that id and decodes the result
// into result (unless nil). The mirror reflects every state change the call
// caused by the time it returns. Server errors are *rope.Error.
func (c *Client) Call(ctx context.Context, objectID, method string, params, result any) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	raw, err := s.request(ctx, rope.MethodCall, callParams{Object: objectID, Method: method, Params: params})
	if err != nil {
		return err
	}
	return decodeResult(raw, result)
}

// Request sends any JSON-RPC request (a server's extra method, or
// rope.ping) and decodes its result.
func (c *Client) Request(ctx context.Context, method string, params, result any) error {
	s, err := c.session()
	if err != nil {
		return err
	}
	raw, err := s.request(ctx, method, params)
	if err != nil {
		return err
	}
	return decodeResult(raw, result)
}
