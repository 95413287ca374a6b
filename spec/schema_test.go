package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// This test uses a small JSON Schema (draft 2020-12) validator that implements only the
// keywords the schemas in schema/ use. A schema using any other keyword fails the test,
// so the subset stays honest.

const draft202012 = "https://json-schema.org/draft/2020-12/schema"

var annotationKeywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "$comment": true,
	"title": true, "description": true,
}

var assertionKeywords = map[string]bool{
	"$ref": true, "type": true, "const": true, "enum": true,
	"properties": true, "required": true, "additionalProperties": true, "minProperties": true,
	"items": true, "minItems": true, "uniqueItems": true,
	"minimum": true, "maximum": true, "minLength": true, "pattern": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true,
	"if": true, "then": true, "else": true,
}

// decode parses exactly one JSON value, keeping numbers as json.Number.
func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

type schemaSet struct {
	dir  string
	docs map[string]any // file name -> parsed schema
}

func loadSchemas(t *testing.T, dir string) *schemaSet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files in %s (%v)", dir, err)
	}
	s := &schemaSet{dir: dir, docs: map[string]any{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decode(data)
		if err != nil {
			t.Errorf("%s: invalid JSON: %v", f, err)
			continue
		}
		s.docs[filepath.Base(f)] = v
	}
	return s
}

// resolve follows a $ref relative to document doc.
func (s *schemaSet) resolve(doc, ref string) (string, any, error) {
	file, frag, _ := strings.Cut(ref, "#")
	if file != "" {
		doc = file
	}
	root, ok := s.docs[doc]
	if !ok {
		return "", nil, fmt.Errorf("$ref %q: no schema file %q", ref, doc)
	}
	cur := root
	if frag == "" {
		return doc, cur, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return "", nil, fmt.Errorf("$ref %q: only JSON pointer fragments are supported", ref)
	}
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return "", nil, fmt.Errorf("$ref %q: %q is not in an object", ref, tok)
		}
		if cur, ok = m[tok]; !ok {
			return "", nil, fmt.Errorf("$ref %q: no member %q", ref, tok)
		}
	}
	return doc, cur, nil
}

// lint checks that a schema uses only supported keywords and that every $ref resolves.
func (s *schemaSet) lint(doc string, sch any, path string) []string {
	if _, ok := sch.(bool); ok {
		return nil
	}
	m, ok := sch.(map[string]any)
	if !ok {
		return []string{path + ": schema is neither an object nor a boolean"}
	}
	var errs []string
	sub := func(p string, v any) { errs = append(errs, s.lint(doc, v, p)...) }
	for k, v := range m {
		p := path + "/" + k
		switch {
		case !annotationKeywords[k] && !assertionKeywords[k]:
			errs = append(errs, p+": unsupported keyword")
		case k == "$ref":
			ref, _ := v.(string)
			if _, _, err := s.resolve(doc, ref); err != nil {
				errs = append(errs, p+": "+err.Error())
			}
		case k == "$defs" || k == "properties":
			mm, _ := v.(map[string]any)
			for name, x := range mm {
				sub(p+"/"+name, x)
			}
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			arr, _ := v.([]any)
			for i, x := range arr {
				sub(fmt.Sprintf("%s/%d", p, i), x)
			}
		case k == "items" || k == "not" || k == "if" || k == "then" || k == "else" ||
			k == "additionalProperties":
			sub(p, v)
		}
	}
	return errs
}

func rat(n json.Number) *big.Rat {
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		panic("bad number " + n.String())
	}
	return r
}

func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && rat(x).Cmp(rat(y)) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func hasType(v any, typ string) bool {
	switch typ {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		return ok && rat(n).IsInt()
	}
	return false
}

// validate returns the violations of instance v against schema sch (from document doc).
func (s *schemaSet) validate(doc string, sch any, v any, path string) []string {
	if b, ok := sch.(bool); ok {
		if b {
			return nil
		}
		return []string{path + ": false schema"}
	}
	m := sch.(map[string]any)
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	valid := func(x any) bool { return len(s.validate(doc, x, v, path)) == 0 }
	if ref, ok := m["$ref"].(string); ok {
		d, target, err := s.resolve(doc, ref)
		if err != nil {
			fail("%v", err)
		} else {
			errs = append(errs, s.validate(d, target, v, path)...)
		}
	}
	if t, ok := m["type"]; ok {
		types, isList := t.([]any)
		if !isList {
			types = []any{t}
		}
		match := false
		for _, typ := range types {
			match = match || hasType(v, typ.(string))
		}
		if !match {
			fail("type: want %v", t)
		}
	}
	if c, ok := m["const"]; ok && !jsonEqual(v, c) {
		fail("const: want %v", c)
	}
	if e, ok := m["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(v, x)
		}
		if !found {
			fail("enum: want one of %v", e)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := m["properties"].(map[string]any)
		for k, x := range obj {
			if ps, ok := props[k]; ok {
				errs = append(errs, s.validate(doc, ps, x, path+"/"+k)...)
			} else if ap, ok := m["additionalProperties"]; ok {
				errs = append(errs, s.validate(doc, ap, x, path+"/"+k)...)
			}
		}
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if _, ok := obj[r.(string)]; !ok {
					fail("required member %q missing", r)
				}
			}
		}
		if n, ok := m["minProperties"].(json.Number); ok && big.NewRat(int64(len(obj)), 1).Cmp(rat(n)) < 0 {
			fail("fewer than %s members", n)
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := m["items"]; ok {
			for i, x := range arr {
				errs = append(errs, s.validate(doc, items, x, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
		if n, ok := m["minItems"].(json.Number); ok && big.NewRat(int64(len(arr)), 1).Cmp(rat(n)) < 0 {
			fail("fewer than %s items", n)
		}
		if u, _ := m["uniqueItems"].(bool); u {
			for i := range arr {
				for j := i + 1; j < len(arr); j++ {
					if jsonEqual(arr[i], arr[j]) {
						fail("items %d and %d are equal", i, j)
					}
				}
			}
		}
	}
	if n, ok := v.(json.Number); ok {
		if min, ok := m["minimum"].(json.Number); ok && rat(n).Cmp(rat(min)) < 0 {
			fail("below minimum %s", min)
		}
		if max, ok := m["maximum"].(json.Number); ok && rat(n).Cmp(rat(max)) > 0 {
			fail("above maximum %s", max)
		}
	}
	if str, ok := v.(string); ok {
		if n, ok := m["minLength"].(json.Number); ok && big.NewRat(int64(len([]rune(str))), 1).Cmp(rat(n)) < 0 {
			fail("shorter than %s", n)
		}
		if p, ok := m["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				fail("bad pattern %q: %v", p, err)
			} else if !re.MatchString(str) {
				fail("does not match %q", p)
			}
		}
	}
	if all, ok := m["allOf"].([]any); ok {
		for _, x := range all {
			errs = append(errs, s.validate(doc, x, v, path)...)
		}
	}
	if anyOf, ok := m["anyOf"].([]any); ok {
		n := 0
		for _, x := range anyOf {
			if valid(x) {
				n++
			}
		}
		if n == 0 {
			fail("anyOf: no branch matches")
		}
	}
	if oneOf, ok := m["oneOf"].([]any); ok {
		n := 0
		for _, x := range oneOf {
			if valid(x) {
				n++
			}
		}
		if n != 1 {
			fail("oneOf: %d branches match", n)
		}
	}
	if not, ok := m["not"]; ok && valid(not) {
		fail("not: schema matches")
	}
	if cond, ok := m["if"]; ok {
		branch, has := m["else"]
		if valid(cond) {
			branch, has = m["then"]
		}
		if has {
			errs = append(errs, s.validate(doc, branch, v, path)...)
		}
	}
	return errs
}

func TestSchemas(t *testing.T) {
	s := loadSchemas(t, "schema")
	names := make([]string, 0, len(s.docs))
	for name := range s.docs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		doc, ok := s.docs[name].(map[string]any)
		if !ok {
			t.Errorf("%s: schema is not an object", name)
			continue
		}
		if doc["$schema"] != draft202012 {
			t.Errorf("%s: $schema must be %q", name, draft202012)
		}
		if id, _ := doc["$id"].(string); !strings.HasSuffix(id, "/schema/"+name) {
			t.Errorf("%s: $id %q does not end in /schema/%s", name, id, name)
		}
		for _, e := range s.lint(name, doc, name+"#") {
			t.Error(e)
		}
	}
}

type example struct {
	Schema      string          `json:"schema"`
	Description string          `json:"description"`
	Spec        string          `json:"spec"`
	Valid       *bool           `json:"valid"`
	Message     json.RawMessage `json:"message"`
}

func TestExamples(t *testing.T) {
	s := loadSchemas(t, "schema")
	files, err := filepath.Glob(filepath.Join("examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples (%v)", err)
	}
	used := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decode(data); err != nil {
			t.Errorf("%s: invalid JSON: %v", f, err)
			continue
		}
		var ex example
		if err := json.Unmarshal(data, &ex); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		sch, ok := s.docs[ex.Schema]
		if !ok {
			t.Errorf("%s: names schema %q, which does not exist in schema/", f, ex.Schema)
			continue
		}
		if ex.Description == "" || len(ex.Message) == 0 {
			t.Errorf("%s: needs description and message", f)
			continue
		}
		used[ex.Schema] = true
		msg, err := decode(ex.Message)
		if err != nil {
			t.Errorf("%s: message: %v", f, err)
			continue
		}
		errs := s.validate(ex.Schema, sch, msg, "message")
		wantValid := ex.Valid == nil || *ex.Valid
		switch {
		case wantValid && len(errs) > 0:
			t.Errorf("%s: does not validate against %s: %s", f, ex.Schema, strings.Join(errs, "; "))
		case !wantValid && len(errs) == 0:
			t.Errorf("%s: marked invalid but validates against %s", f, ex.Schema)
		}
	}
	for name := range s.docs {
		if name != "defs.json" && !used[name] {
			t.Errorf("schema %s has no example in examples/", name)
		}
	}
}

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// TestMarkdownJSON checks that every ```json block in the spec documents is a sequence
// of valid JSON values.
func TestMarkdownJSON(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "DRAFT") {
			continue // the working draft annotates its JSON with comments
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range jsonBlock.FindAllSubmatch(data, -1) {
			dec := json.NewDecoder(bytes.NewReader(m[1]))
			n := 0
			for {
				var v any
				err := dec.Decode(&v)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Errorf("%s: json block %d: %v", f, i+1, err)
					break
				}
				n++
			}
			if n == 0 {
				t.Errorf("%s: json block %d is empty", f, i+1)
			}
		}
	}
}
