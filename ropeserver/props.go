package ropeserver

import (
	"bytes"
	"encoding/json"
	"slices"
)

// propSet is an object's properties as its state lists them: one JSON
// object in the type's declaration order, and where each declared
// property's value lies in it. It is built whole and never changed in
// place (Set builds the next one), so a snapshot taken under the server's
// lock can be encoded after it is released. One buffer and one small
// index per object, where a map of separately encoded values took three
// times the bytes in many small allocations.
type propSet struct {
	// json is the properties as a JSON object ("{}" when none is set).
	json []byte
	// spans has, for each of the type's declared properties, the bounds
	// of its value in json; an empty span: not set.
	spans []propSpan
}

type propSpan struct{ start, end uint32 }

// newPropSet encodes the declared properties of t that at gives, in
// declaration order; at(i) is the value of t's ith property, nil if not
// set.
func newPropSet(t *objectType, at func(i int) json.RawMessage) propSet {
	size := 2
	for i, p := range t.props {
		if v := at(i); v != nil {
			size += len(p.quoted) + 2 + len(v)
		}
	}
	ps := propSet{json: make([]byte, 0, size), spans: make([]propSpan, len(t.props))}
	ps.json = append(ps.json, '{')
	for i, p := range t.props {
		v := at(i)
		if v == nil {
			continue
		}
		if len(ps.json) > 1 {
			ps.json = append(ps.json, ',')
		}
		ps.json = append(append(ps.json, p.quoted...), ':')
		start := len(ps.json)
		ps.json = append(ps.json, v...)
		ps.spans[i] = propSpan{uint32(start), uint32(len(ps.json))}
	}
	ps.json = append(ps.json, '}')
	return ps
}

// value is the ith declared property's JSON value, nil when not set or
// not declared (i < 0).
func (ps *propSet) value(i int) json.RawMessage {
	if i < 0 || i >= len(ps.spans) {
		return nil
	}
	sp := ps.spans[i]
	if sp.end == 0 {
		return nil
	}
	return ps.json[sp.start:sp.end:sp.end]
}

// jsonOrEmpty is ps as a JSON object.
func (ps *propSet) jsonOrEmpty() []byte {
	if ps.json == nil {
		return []byte("{}")
	}
	return ps.json
}

// index is the position of the declared property name, or -1.
func (t *objectType) index(name string) int {
	return slices.IndexFunc(t.props, func(p propName) bool { return p.name == name })
}

// changed drops from enc the values equal to those ps holds and reports
// whether any is left.
func (ps *propSet) changed(t *objectType, enc map[string]json.RawMessage) bool {
	for k, v := range enc {
		if bytes.Equal(ps.value(t.index(k)), v) {
			delete(enc, k)
		}
	}
	return len(enc) > 0
}

// with returns a propSet of ps's values replaced by those of enc.
func (ps *propSet) with(t *objectType, enc map[string]json.RawMessage) propSet {
	return newPropSet(t, func(i int) json.RawMessage {
		if v, ok := enc[t.props[i].name]; ok {
			return v
		}
		return ps.value(i)
	})
}
