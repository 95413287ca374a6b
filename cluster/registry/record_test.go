package registry_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ropehq/rope/cluster/registry"
)

// example is the heartbeat of spec/cluster-v1.md §4.1.
const example = `{
  "v": 1,
  "id": "eu-1",
  "incarnation": "5f0c2a9d41e7b368",
  "seq": 42,
  "intervalMs": 1000,
  "ropeUrl": "wss://eu-1.example.net/",
  "mediaAddresses": ["203.0.113.10"],
  "workers": [
    {"id": "w-7f3a", "pid": 4127, "load": 37.5},
    {"id": "w-91c0", "pid": 4133, "load": 12}
  ],
  "load": 6.2,
  "maxWorkers": 8,
  "version": "github.com/ropehq/rope v0.4.0"
}`

func TestDecodeSpecExample(t *testing.T) {
	r, err := registry.DecodeRecord([]byte(example), 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "eu-1" || r.Seq != 42 || len(r.Workers) != 2 || r.Workers[0].PID != 4127 || r.MaxWorkers != 8 {
		t.Fatalf("decoded %+v", r)
	}
}

// TestSpecExamples: every JSON block of spec/cluster-v1.md is a valid
// Record or Goodbye, and the first is the example above.
func TestSpecExamples(t *testing.T) {
	data, err := os.ReadFile("../../spec/cluster-v1.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(data, -1)
	if len(blocks) != 2 {
		t.Fatalf("%d JSON blocks, want a Record and a Goodbye", len(blocks))
	}
	rec, err := registry.DecodeRecord(blocks[0][1], 0)
	if err != nil {
		t.Fatalf("spec Record: %v", err)
	}
	want, _ := registry.DecodeRecord([]byte(example), 0)
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("the spec's Record differs from the test's:\n%+v\n%+v", rec, want)
	}
	if _, err := registry.DecodeGoodbye(blocks[1][1]); err != nil {
		t.Fatalf("spec Goodbye: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	base := func() map[string]any {
		var m map[string]any
		_ = json.Unmarshal([]byte(example), &m)
		return m
	}
	for name, change := range map[string]func(m map[string]any){
		"v 2":              func(m map[string]any) { m["v"] = 2 },
		"no id":            func(m map[string]any) { delete(m, "id") },
		"id with a dot":    func(m map[string]any) { m["id"] = "eu.1" },
		"id with wildcard": func(m map[string]any) { m["id"] = "*" },
		"long id":          func(m map[string]any) { m["id"] = strings.Repeat("a", 65) },
		"no incarnation":   func(m map[string]any) { delete(m, "incarnation") },
		"seq 0":            func(m map[string]any) { m["seq"] = 0 },
		"seq negative":     func(m map[string]any) { m["seq"] = -1 },
		"seq beyond 2^53":  func(m map[string]any) { m["seq"] = 1 << 54 },
		"interval 5ms":     func(m map[string]any) { m["intervalMs"] = 5 },
		"interval 2min":    func(m map[string]any) { m["intervalMs"] = 120000 },
		"http url":         func(m map[string]any) { m["ropeUrl"] = "http://h/" },
		"no url":           func(m map[string]any) { delete(m, "ropeUrl") },
		"empty address":    func(m map[string]any) { m["mediaAddresses"] = []string{""} },
		"17 addresses":     func(m map[string]any) { m["mediaAddresses"] = make([]string, 17) },
		"negative load":    func(m map[string]any) { m["load"] = -0.5 },
		"worker no id":     func(m map[string]any) { m["workers"] = []any{map[string]any{"load": 1}} },
		"worker twice":     func(m map[string]any) { m["workers"] = []any{map[string]any{"id": "w"}, map[string]any{"id": "w"}} },
		"worker bad load":  func(m map[string]any) { m["workers"] = []any{map[string]any{"id": "w", "load": -1}} },
		"id not a string":  func(m map[string]any) { m["id"] = 7 },
		"negative max":     func(m map[string]any) { m["maxWorkers"] = -1 },
		"long version":     func(m map[string]any) { m["version"] = strings.Repeat("v", 257) },
	} {
		m := base()
		change(m)
		b, _ := json.Marshal(m)
		if _, err := registry.DecodeRecord(b, 0); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := registry.DecodeRecord([]byte(example), 100); !errors.Is(err, registry.ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	for _, junk := range []string{"", "null", "[]", `"x"`, "{", `{"v":1}` + "x"} {
		if _, err := registry.DecodeRecord([]byte(junk), 0); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("%q: %v", junk, err)
		}
	}
}

func TestUnknownMembersAreIgnored(t *testing.T) {
	withMore := strings.Replace(example, `"v": 1,`, `"v": 1, "producers": {"p1": "x"}, "zone": "eu",`, 1)
	a, err1 := registry.DecodeRecord([]byte(example), 0)
	b, err2 := registry.DecodeRecord([]byte(withMore), 0)
	if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
		t.Fatalf("%v %v %+v %+v", err1, err2, a, b)
	}
}

func TestDecodeGoodbye(t *testing.T) {
	g, err := registry.DecodeGoodbye([]byte(`{"v":1,"id":"eu-1","incarnation":"5f0c2a9d41e7b368"}`))
	if err != nil || g.ID != "eu-1" {
		t.Fatalf("%+v %v", g, err)
	}
	for _, bad := range []string{`{"v":1,"id":"eu-1"}`, `{"v":2,"id":"a","incarnation":"b"}`, `{`, strings.Repeat(" ", 2000)} {
		if _, err := registry.DecodeGoodbye([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestHeartbeatSize reports the size of a typical heartbeat: a server
// with 4 workers (the README's figure of bytes per second per server is
// this size per interval).
func TestHeartbeatSize(t *testing.T) {
	r := registry.Record{
		V: 1, ID: "127-0-0-2-8444", Incarnation: "5f0c2a9d41e7b368", Seq: 123456, IntervalMS: 1000,
		RopeURL: "ws://127.0.0.2:8444/", MediaAddresses: []string{"127.0.0.2"}, Load: 12.5, MaxWorkers: 32,
		Version: "github.com/ropehq/rope (devel)",
	}
	for i := range 4 {
		r.Workers = append(r.Workers, registry.Worker{ID: "3f2a9c1b-" + strings.Repeat("0", 4) + string(rune('a'+i)), PID: 40000 + i, Load: 25.37})
	}
	b, _ := json.Marshal(&r)
	subject := registry.HeartbeatSubject(r.ID)
	t.Logf("heartbeat with 4 workers: %d bytes of JSON, %d with the subject and NATS framing (PUB line)", len(b), len(b)+len(subject)+len("PUB  1234\r\n\r\n"))
}

// FuzzDecodeRecord: no input makes the decoder panic, and whatever it
// accepts is valid and survives a round trip. Inputs also come split in
// two, as a reader might see them.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte(`{"v":1,"id":"a","incarnation":"b","seq":1,"intervalMs":10,"ropeUrl":"ws://h/"}`))
	f.Add([]byte(`{"v":1,"id":"a","workers":[{"id":"w","load":1e308}]}`))
	f.Add([]byte(`{"v":1,"id":"a","incarnation":"b","seq":9007199254740991,"intervalMs":60000,"ropeUrl":"wss://[::1]:1/x","mediaAddresses":["h"],"load":0.1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := registry.DecodeRecord(data, 0)
		if err != nil {
			if !errors.Is(err, registry.ErrMalformed) && !errors.Is(err, registry.ErrTooLarge) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid record: %v", err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := registry.DecodeRecord(b, 1<<20)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, r, r2)
		}
		half := len(data) / 2
		_, _ = registry.DecodeRecord(data[:half], 0)
		_, _ = registry.DecodeGoodbye(data[half:])
	})
}
