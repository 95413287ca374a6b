package rope

import "encoding/json"

// ObjectState is one object as the snapshot and rope.created carry it.
type ObjectState struct {
	ID      string                     `json:"id"`
	Type    string                     `json:"type"`
	Parent  *string                    `json:"parent"`
	Props   map[string]json.RawMessage `json:"props"`
	AppData json.RawMessage            `json:"appData"`
}

// TypeInfo describes an object type in the catalogue.
type TypeInfo struct {
	Name       string   `json:"name"`
	Methods    []string `json:"methods"`
	Events     []string `json:"events"`
	Properties []string `json:"properties"`
}

// InitParams are the params of rope.init.
type InitParams struct {
	Protocol       string          `json:"protocol"`
	Server         string          `json:"server,omitempty"`
	Epoch          string          `json:"epoch"`
	Seq            uint64          `json:"seq"`
	Resumed        bool            `json:"resumed"`
	MaxMessageSize int64           `json:"maxMessageSize"`
	ReplayWindow   int             `json:"replayWindow"`
	Types          []TypeInfo      `json:"types"`
	Objects        []ObjectState   `json:"objects,omitzero"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	// Session is the connection's session (spec §17), present when the
	// client asked for one.
	Session *SessionInfo `json:"session,omitempty"`
	// View is set when the connection sees only some objects (spec §18):
	// its sequence numbers have gaps, and an object's parent may be absent.
	View bool `json:"view,omitempty"`
}

// SessionInfo is rope.init's session member (spec §17.2).
type SessionInfo struct {
	// ID names the session; a client resumes it with ?session=<id>.
	ID string `json:"id"`
	// Lease is how long, in milliseconds, the session's leased objects
	// outlive its last connection; nil (null) when they persist.
	Lease *int64 `json:"lease"`
	// MaxObjects is the most objects the session may hold leased; 0
	// (absent) when unbounded.
	MaxObjects int `json:"maxObjects,omitempty"`
}

// CreatedParams are the params of rope.created.
type CreatedParams struct {
	Seq    uint64      `json:"seq"`
	Object ObjectState `json:"object"`
}

// UpdatedParams are the params of rope.updated: changed properties, and the
// whole new appData when it changed.
type UpdatedParams struct {
	Seq     uint64                     `json:"seq"`
	ID      string                     `json:"id"`
	Props   map[string]json.RawMessage `json:"props,omitempty"`
	AppData json.RawMessage            `json:"appData,omitempty"`
}

// ClosedParams are the params of rope.closed.
type ClosedParams struct {
	Seq uint64 `json:"seq"`
	ID  string `json:"id"`
}

// EventParams are the params of rope.event.
type EventParams struct {
	Seq   uint64          `json:"seq"`
	ID    string          `json:"id"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// SeqOnly decodes just the seq member of a sequenced notification.
type SeqOnly struct {
	Seq uint64 `json:"seq"`
}

// CallParams are the params of rope.call.
type CallParams struct {
	Object string          `json:"object"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// SetAppDataParams are the params of rope.setAppData.
type SetAppDataParams struct {
	Object  string          `json:"object"`
	AppData json.RawMessage `json:"appData"`
}

// PingResult is the result of rope.ping.
type PingResult struct {
	Seq uint64 `json:"seq"`
}

// CreateResult is the conventional result of a method that creates an
// object.
type CreateResult struct {
	ID string `json:"id"`
}
