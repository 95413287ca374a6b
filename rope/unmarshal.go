package rope

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Unmarshal decodes the JSON value data into v as ROPE receivers read
// params (spec §1.3, §1.4): like encoding/json, except that
//
//   - member names match struct fields exactly: encoding/json would also
//     take "Value" or "VALUE" for a field named "value"; here such a
//     member is unknown and ignored like any other;
//   - a member name repeated in any object of data is an error
//     ([ErrDuplicateName]);
//   - an integer field (any Go int or uint kind) takes only integers
//     within ±(2^53−1) ([ErrIntegerRange]); encoding/json already refuses
//     1.0 and 1e2 for it.
//
// Unknown members are ignored and null leaves a field as it was (an absent
// member), as in encoding/json. Struct fields, slices, arrays, maps and
// pointers are followed; a type with its own UnmarshalJSON or
// UnmarshalText decodes its part as it likes.
func Unmarshal(data []byte, v any) error {
	rt := reflect.TypeOf(v)
	if rt == nil || rt.Kind() != reflect.Pointer {
		return json.Unmarshal(data, v) // encoding/json's InvalidUnmarshalError
	}
	w := walker{scanner: scanner{data: data}}
	w.ws()
	ok := w.walk(infoOf(rt.Elem()), nil)
	w.ws()
	switch {
	case !ok || w.pos != len(data) || !w.utf8OK():
		return ErrInvalidJSON
	case w.hasDup:
		return fmt.Errorf("%w: %q", ErrDuplicateName, w.dup)
	case w.rangeErr != nil:
		return w.rangeErr
	case w.cut:
		data = filterMembers(data, infoOf(rt.Elem()))
	}
	return json.Unmarshal(data, v)
}

// maxIntegerText is MaxInteger's decimal text.
const maxIntegerText = "9007199254740991"

// integerInRange reports whether the number literal lit is an integer
// within ±MaxInteger, or not an integer at all (a fraction or exponent,
// which encoding/json refuses for integer fields by itself).
func integerInRange(lit []byte) bool {
	if bytes.ContainsAny(lit, ".eE") {
		return true
	}
	digits := bytes.TrimPrefix(lit, []byte("-"))
	return len(digits) < len(maxIntegerText) ||
		len(digits) == len(maxIntegerText) && string(digits) <= maxIntegerText
}

// typeKind is what Unmarshal checks of the JSON value for a Go type.
type typeKind uint8

const (
	kindOther   typeKind = iota // not walked: encoding/json decides
	kindInteger                 // the range of integers
	kindStruct                  // exact member names
	kindSeq                     // each element of a slice or array
	kindMap                     // each member value
)

// typeInfo is what Unmarshal knows of a Go type.
type typeInfo struct {
	kind typeKind
	elem *typeInfo // kindSeq, kindMap
	// fields maps the JSON names of a struct's fields to their types;
	// names lists them for the case-insensitive comparison.
	fields map[string]*typeInfo
	names  [][]byte
}

// field returns the type of the field named exactly name, or nil; cut
// reports that the name differs from a field's only in case, so that
// encoding/json would take it for that field.
func (ti *typeInfo) field(name []byte) (f *typeInfo, cut bool) {
	if f := ti.fields[string(name)]; f != nil {
		return f, false
	}
	for _, n := range ti.names {
		if bytes.EqualFold(n, name) {
			return nil, true
		}
	}
	return nil, false
}

// typeInfos caches typeInfo by reflect.Type.
var typeInfos sync.Map

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func infoOf(t reflect.Type) *typeInfo {
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := buildInfo(t, map[reflect.Type]*typeInfo{})
	typeInfos.Store(t, ti)
	return ti
}

func customDecoder(t reflect.Type) bool {
	for _, u := range []reflect.Type{unmarshalerType, textUnmarshalerType} {
		if t.Implements(u) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(u) {
			return true
		}
	}
	return false
}

func buildInfo(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	for t.Kind() == reflect.Pointer && !customDecoder(t) {
		t = t.Elem()
	}
	if ti := building[t]; ti != nil {
		return ti // a recursive type
	}
	ti := &typeInfo{}
	building[t] = ti
	if customDecoder(t) {
		return ti
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		ti.kind = kindInteger
	case reflect.Struct:
		ti.kind, ti.fields = kindStruct, map[string]*typeInfo{}
		addFields(ti, t, building)
		for n := range ti.fields {
			ti.names = append(ti.names, []byte(n))
		}
	case reflect.Slice, reflect.Array:
		ti.kind, ti.elem = kindSeq, buildInfo(t.Elem(), building)
	case reflect.Map:
		ti.kind, ti.elem = kindMap, buildInfo(t.Elem(), building)
	}
	return ti
}

// addFields adds the JSON names of t's fields as encoding/json sees them:
// tagged or exported fields, and the fields of embedded structs without a
// tag name, those of the outer struct first.
func addFields(ti *typeInfo, t reflect.Type, building map[reflect.Type]*typeInfo) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := bytes.Cut([]byte(tag), []byte(","))
		if f.Anonymous && len(name) == 0 {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if len(name) == 0 {
			name = []byte(f.Name)
		}
		if _, ok := ti.fields[string(name)]; !ok {
			ti.fields[string(name)] = buildInfo(f.Type, building)
		}
	}
	for _, et := range embedded {
		addFields(ti, et, building)
	}
}

// walker validates data like the scanner while following a Go type: it
// checks the ranges of integers and finds members that differ from a
// field's name only in case.
type walker struct {
	scanner
	cut      bool
	rangeErr error
}

func (w *walker) walk(ti *typeInfo, name []byte) bool {
	c := w.peek()
	switch {
	case ti.kind == kindInteger && (c == '-' || c >= '0' && c <= '9'):
		start := w.pos
		if !w.number() {
			return false
		}
		if lit := w.data[start:w.pos]; !integerInRange(lit) && w.rangeErr == nil {
			w.rangeErr = fmt.Errorf("%w: %s is %s", ErrIntegerRange, orValue(name), lit)
		}
		return true
	case (ti.kind == kindStruct || ti.kind == kindMap) && c == '{':
		return w.object(ti)
	case ti.kind == kindSeq && c == '[':
		return w.array(ti.elem, name)
	}
	return w.value()
}

func orValue(name []byte) string {
	if len(name) == 0 {
		return "value"
	}
	return string(name)
}

func (w *walker) object(ti *typeInfo) bool {
	w.pos++ // {
	if !w.enter() {
		return false
	}
	var names nameSet
	w.ws()
	if w.peek() == '}' {
		w.pos++
		w.depth--
		return true
	}
	for {
		name, ok := w.memberName()
		if !ok {
			return false
		}
		w.noteName(&names, name)
		f := ti.elem
		if ti.kind == kindStruct {
			var cut bool
			f, cut = ti.field(name)
			w.cut = w.cut || cut
		}
		if f != nil {
			ok = w.walk(f, name)
		} else {
			ok = w.value()
		}
		if !ok {
			return false
		}
		w.ws()
		switch w.peek() {
		case ',':
			w.pos++
		case '}':
			w.pos++
			w.depth--
			return true
		default:
			return false
		}
	}
}

func (w *walker) array(elem *typeInfo, name []byte) bool {
	w.pos++ // [
	if !w.enter() {
		return false
	}
	w.ws()
	if w.peek() == ']' {
		w.pos++
		w.depth--
		return true
	}
	for {
		w.ws()
		if !w.walk(elem, name) {
			return false
		}
		w.ws()
		switch w.peek() {
		case ',':
			w.pos++
		case ']':
			w.pos++
			w.depth--
			return true
		default:
			return false
		}
	}
}

// filterMembers rewrites valid data without the members that differ from a
// struct field's name only in case. Rare: only for such input.
func filterMembers(data []byte, ti *typeInfo) []byte {
	f := filter{scanner: scanner{data: data}}
	f.ws()
	f.value(ti)
	return f.out
}

type filter struct {
	scanner
	out []byte
}

func (f *filter) value(ti *typeInfo) {
	switch c := f.peek(); {
	case (ti.kind == kindStruct || ti.kind == kindMap) && c == '{':
		f.object(ti)
	case ti.kind == kindSeq && c == '[':
		f.pos++
		f.out = append(f.out, '[')
		for f.ws(); f.peek() != ']'; f.ws() {
			if f.peek() == ',' {
				f.pos++
				f.out = append(f.out, ',')
				f.ws()
			}
			f.value(ti.elem)
		}
		f.pos++
		f.out = append(f.out, ']')
	default:
		start := f.pos
		f.scanner.value()
		f.out = append(f.out, f.data[start:f.pos]...)
	}
}

func (f *filter) object(ti *typeInfo) {
	f.pos++
	f.out = append(f.out, '{')
	first := true
	for f.ws(); f.peek() != '}'; f.ws() {
		if f.peek() == ',' {
			f.pos++
		}
		name, _ := f.memberName()
		field, cut := ti.elem, false
		if ti.kind == kindStruct {
			field, cut = ti.field(name)
		}
		if cut {
			f.scanner.value()
			continue
		}
		if !first {
			f.out = append(f.out, ',')
		}
		first = false
		quoted, _ := json.Marshal(string(name))
		f.out = append(append(f.out, quoted...), ':')
		if field == nil {
			field = &typeInfo{}
		}
		f.value(field)
	}
	f.pos++
	f.out = append(f.out, '}')
}
