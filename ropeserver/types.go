package ropeserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ropehq/rope/rope"
)

// MethodFunc runs one method call. Its result is marshalled as JSON (a
// json.RawMessage goes as it is). Return a *rope.Error to choose the wire
// error; other errors become internal errors (see Options.MapError).
type MethodFunc func(ctx context.Context, call *Call) (any, error)

// Call is one method invocation.
type Call struct {
	// Object is the object called; nil for extra server methods.
	Object *Object
	// Method is the method's name.
	Method string
	// Params are the call's params as sent (nil when absent).
	Params json.RawMessage
	// Conn is the connection the call came on.
	Conn *Conn

	// reserved counts the object slots Reserve took and Own has not used
	// (lease.go); guarded by the server's leaseTable.mu.
	reserved int
	// typed counts the quota ReserveType took by type name and Own has
	// not used (grant.go); guarded by leaseTable.mu.
	typed map[string]int
}

// Bind decodes the params into v with rope.Unmarshal: member names match
// exactly, a repeated name is refused, integers lie within ±(2^53−1); a
// member set to null is left as if absent. A mismatch is an InvalidParams
// error that says what was wrong. Absent or null params leave v as it is.
func (c *Call) Bind(v any) error {
	if len(c.Params) == 0 || string(c.Params) == "null" {
		return nil
	}
	if err := rope.Unmarshal(c.Params, v); err != nil {
		return rope.NewError(rope.CodeInvalidParams, "%s: bad params: %v", c.Method, err)
	}
	return nil
}

// Type defines an object type: its methods, the events its objects emit and
// the properties they carry.
type Type struct {
	Name       string
	Methods    map[string]MethodFunc
	Events     []string
	Properties []string
	// OnSetAppData, when set, runs before a client's rope.setAppData is
	// applied to an object of this type, so the Go value behind it can
	// follow; an error refuses the change and goes to the client. A hook
	// may apply the change itself with o.SetAppData (directly, or through
	// the Go value, whose own change handler publishes it); the server then
	// does not apply it again, so the change is announced once.
	OnSetAppData func(ctx context.Context, o *Object, appData json.RawMessage) error
}

type objectType struct {
	Type
	info rope.TypeInfo
	// props are the declared property names, each once, with their JSON
	// encoding: the order in which states list them.
	props []propName
}

type propName struct {
	name   string
	quoted []byte
}

// appendProps appends props as a JSON object, in declaration order.
func (t *objectType) appendProps(buf []byte, props map[string]json.RawMessage) []byte {
	buf = append(buf, '{')
	first := true
	for _, p := range t.props {
		v, ok := props[p.name]
		if !ok {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, p.quoted...)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	return append(buf, '}')
}

// RegisterType adds an object type to the catalogue.
func (s *Server) RegisterType(t Type) error {
	if t.Name == "" {
		return fmt.Errorf("%w: empty name", ErrBadType)
	}
	info := rope.TypeInfo{Name: t.Name, Methods: sortedKeys(t.Methods),
		Events: slices.Clone(t.Events), Properties: slices.Clone(t.Properties)}
	if info.Events == nil {
		info.Events = []string{}
	}
	if info.Properties == nil {
		info.Properties = []string{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.types[t.Name]; ok {
		return fmt.Errorf("type %q: %w", t.Name, ErrDuplicateID)
	}
	ot := &objectType{Type: t, info: info}
	for _, name := range info.Properties {
		if !slices.ContainsFunc(ot.props, func(p propName) bool { return p.name == name }) {
			ot.props = append(ot.props, propName{name, appendJSONString(nil, name)})
		}
	}
	s.types[t.Name] = ot
	return nil
}

func (t *objectType) declares(list []string, name string) bool {
	return slices.Contains(list, name)
}

// typeInfos lists the catalogue, sorted by name. Callers hold s.mu.
func (s *Server) typeInfos() []rope.TypeInfo {
	out := make([]rope.TypeInfo, 0, len(s.types))
	for _, t := range s.types {
		out = append(out, t.info)
	}
	slices.SortFunc(out, func(a, b rope.TypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
