package rope

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// unmarshalTarget has the kinds of fields Unmarshal walks.
type unmarshalTarget struct {
	Value  int64            `json:"value"`
	Name   *string          `json:"name"`
	Count  uint32           `json:"count,omitempty"`
	Inner  *unmarshalInner  `json:"inner"`
	List   []int            `json:"list"`
	ByKey  map[string]int64 `json:"byKey"`
	Raw    json.RawMessage  `json:"raw"`
	Any    any              `json:"any"`
	Untagd int              // JSON name "Untagd"
	unmarshalEmbedded
}

type unmarshalInner struct {
	N    int             `json:"n"`
	Next *unmarshalInner `json:"next"`
}

type unmarshalEmbedded struct {
	Promoted int `json:"promoted"`
}

func TestUnmarshal(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name string
		in   string
		want unmarshalTarget
		err  error
	}{
		{"exact names", `{"value":5,"name":"x","count":3}`, unmarshalTarget{Value: 5, Name: str("x"), Count: 3}, nil},
		{"other spellings are unknown", `{"Value":5,"NAME":"x","valuE":6}`, unmarshalTarget{}, nil},
		{"Kelvin sign folds in encoding/json, not here", `{"by\u212aey":{"k":1}}`, unmarshalTarget{}, nil},
		{"exact beside a spelling", `{"Value":6,"value":5}`, unmarshalTarget{Value: 5}, nil},
		{"spelling after exact", `{"value":5,"VALUE":6}`, unmarshalTarget{Value: 5}, nil},
		{"nested", `{"inner":{"N":1,"n":2,"next":{"n":3,"NEXT":{"n":4}}}}`, unmarshalTarget{Inner: &unmarshalInner{N: 2, Next: &unmarshalInner{N: 3}}}, nil},
		{"in a list of structs", `{"list":[1,2]}`, unmarshalTarget{List: []int{1, 2}}, nil},
		{"untagged field by its Go name", `{"Untagd":1,"untagd":2}`, unmarshalTarget{Untagd: 1}, nil},
		{"embedded field", `{"promoted":7,"Promoted":8}`, unmarshalTarget{unmarshalEmbedded: unmarshalEmbedded{Promoted: 7}}, nil},
		{"map keys are exact anyway", `{"byKey":{"a":1,"A":2}}`, unmarshalTarget{ByKey: map[string]int64{"a": 1, "A": 2}}, nil},
		{"raw and any keep their spellings", `{"raw":{"A":1},"any":{"B":2}}`, unmarshalTarget{Raw: json.RawMessage(`{"A":1}`), Any: map[string]any{"B": float64(2)}}, nil},
		{"null is absent", `{"value":null,"name":null,"inner":null}`, unmarshalTarget{}, nil},
		{"escaped names", `{"v\u0061lue":5}`, unmarshalTarget{Value: 5}, nil},
		{"largest integer", `{"value":9007199254740991}`, unmarshalTarget{Value: MaxInteger}, nil},
		{"smallest integer", `{"value":-9007199254740991}`, unmarshalTarget{Value: -MaxInteger}, nil},
		{"2^53", `{"value":9007199254740992}`, unmarshalTarget{}, ErrIntegerRange},
		{"-2^53", `{"value":-9007199254740992}`, unmarshalTarget{}, ErrIntegerRange},
		{"long integer", `{"value":100000000000000000000}`, unmarshalTarget{}, ErrIntegerRange},
		{"nested range", `{"inner":{"n":9007199254740992}}`, unmarshalTarget{}, ErrIntegerRange},
		{"range in a list", `{"list":[1,9007199254740992]}`, unmarshalTarget{}, ErrIntegerRange},
		{"range in a map", `{"byKey":{"a":-9999999999999999}}`, unmarshalTarget{}, ErrIntegerRange},
		{"any takes big numbers", `{"any":9007199254740993}`, unmarshalTarget{Any: float64(9007199254740992)}, nil},
		{"repeated name", `{"value":1,"value":2}`, unmarshalTarget{}, ErrDuplicateName},
		{"repeated name in raw", `{"raw":{"a":1,"a":2}}`, unmarshalTarget{}, ErrDuplicateName},
		{"invalid JSON", `{"value":1`, unmarshalTarget{}, ErrInvalidJSON},
		{"trailing data", `{} {}`, unmarshalTarget{}, ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got unmarshalTarget
			err := Unmarshal([]byte(tt.in), &got)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestUnmarshalLikeEncodingJSON: without other spellings, repeats and big
// integers, Unmarshal decodes as encoding/json does, errors included.
func TestUnmarshalLikeEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"value":"x"}`, `{"value":1.5}`, `{"value":1.0}`, `{"value":1e2}`, `{"name":5}`, `[1]`, `"s"`, `null`,
		`{"list":{"a":1}}`, `{"count":-1}`, `{"inner":{"n":[]}}`, `{"value":-0}`, `{}`,
	} {
		var a, b unmarshalTarget
		errA := Unmarshal([]byte(in), &a)
		errB := json.Unmarshal([]byte(in), &b)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: Unmarshal %+v, %v; encoding/json %+v, %v", in, a, errA, b, errB)
		}
	}
}

// TestUnmarshalIntegersWrittenOtherwise: 1.0 and 1e2 are not integers
// (§1.3) and an integer field refuses them.
func TestUnmarshalIntegersWrittenOtherwise(t *testing.T) {
	for _, in := range []string{`{"value":1.0}`, `{"value":1e2}`, `{"value":1E0}`, `{"value":-0.0}`} {
		var v unmarshalTarget
		if err := Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("%s accepted as %d", in, v.Value)
		}
	}
}

func TestUnmarshalError(t *testing.T) {
	var e Error
	err := Unmarshal([]byte(`{"code":-32001,"Code":1,"message":"m","data":{"name":"ObjectNotFound","Name":"x","object":"o"}}`), &e)
	if err != nil || e.Code != CodeObjectNotFound || e.Data.Name != "ObjectNotFound" || e.Data.Object != "o" {
		t.Errorf("got %+v, %v", e, err)
	}
}

// FuzzUnmarshal compares Unmarshal with a decoder that reads member names
// exactly by construction: encoding/json into maps, then each exactly
// named member into its field.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"value":5,"Value":6}`, `{"inner":{"N":1,"n":2}}`, `{"value":9007199254740992}`, `{"a":1,"a":2}`,
		`{"list":[1,2],"byKey":{"K":1}}`, `{"name":null}`, `{"v\u0061lue":1}`, `[]`, `{"raw":{"x":[{"y":1}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got unmarshalTarget
		err := Unmarshal(data, &got)
		if !json.Valid(data) || tooDeep(data) {
			if err == nil {
				t.Fatalf("invalid or too deep JSON %q accepted", data)
			}
			return
		}
		if errors.Is(err, ErrDuplicateName) != hasRepeatedName(data) {
			t.Fatalf("%q: error %v, repeated name: %v", data, err, hasRepeatedName(data))
		}
		if err != nil {
			return
		}
		want, ok := exactDecode(data)
		if ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %+v, want %+v", data, got, want)
		}
	})
}

// exactDecode decodes the top-level members of data by exact name; false
// when data is not an object of that shape or a member does not decode.
func exactDecode(data []byte) (unmarshalTarget, bool) {
	var v unmarshalTarget
	var members map[string]json.RawMessage
	if json.Unmarshal(data, &members) != nil || members == nil {
		return v, false
	}
	rv := reflect.ValueOf(&v).Elem()
	for name, raw := range members {
		f, ok := fieldByJSONName(rv, name)
		if !ok {
			continue
		}
		if f.Kind() == reflect.Pointer && f.Type().Elem() == reflect.TypeFor[unmarshalInner]() {
			if bytes.Contains(bytes.ToLower(raw), []byte(`"n`)) {
				return v, false // nested spellings: not modelled here
			}
		}
		if json.Unmarshal(raw, f.Addr().Interface()) != nil {
			return v, false
		}
	}
	return v, true
}

func fieldByJSONName(rv reflect.Value, name string) (reflect.Value, bool) {
	t := rv.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			if f, ok := fieldByJSONName(rv.Field(i), name); ok {
				return f, true
			}
			continue
		}
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if tag == "" {
			tag = sf.Name
		}
		if tag == name {
			return rv.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// hasRepeatedName reports whether some object of the valid JSON data
// repeats a member name, using encoding/json's tokenizer.
func hasRepeatedName(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		names  map[string]bool
		object bool
		key    bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{names: map[string]bool{}, object: v == '{', key: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.key {
				if top.names[v] {
					return true
				}
				top.names[v] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}
