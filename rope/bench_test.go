package rope

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchMessages are the messages of the hot path: a server reads calls,
// pings and setAppData; a client reads responses and notifications.
var benchMessages = []struct{ name, msg string }{
	{"call", `{"jsonrpc":"2.0","id":17,"method":"rope.call","params":{"object":"c42","method":"increment","params":{"by":2,"times":3}}}`},
	{"ping", `{"jsonrpc":"2.0","id":"p-9","method":"rope.ping"}`},
	{"setAppData", `{"jsonrpc":"2.0","id":18,"method":"rope.setAppData","params":{"object":"c42","appData":{"label":"B","tags":["x","y"],"n":3}}}`},
	{"response", `{"jsonrpc":"2.0","id":17,"result":{"value":9}}`},
	{"updated", `{"jsonrpc":"2.0","method":"rope.updated","params":{"seq":5,"id":"c1","props":{"value":9}}}`},
	{"echo-4KiB", `{"jsonrpc":"2.0","id":3,"method":"rope.call","params":{"object":"fixture","method":"echo","params":{"s":"` + strings.Repeat("abcdefgh", 512) + `","a":[1,2,3,{"b":true}]}}}`},
}

// BenchmarkDecode measures Decode beside legacyDecode, the encoding/json
// decoder it replaced, run for run so that load on the machine hits both.
func BenchmarkDecode(b *testing.B) {
	for _, bm := range benchMessages {
		for _, d := range []struct {
			name string
			fn   func([]byte) (*Message, ID, *Error)
		}{{"exact", Decode}, {"legacy", legacyDecode}} {
			b.Run(bm.name+"/"+d.name, func(b *testing.B) {
				data := []byte(bm.msg)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, _, e := d.fn(data); e != nil {
						b.Fatal(e)
					}
				}
			})
		}
	}
}

// BenchmarkUnmarshalParams measures Unmarshal beside encoding/json on the
// params of a rope.call and of a fixture method.
func BenchmarkUnmarshalParams(b *testing.B) {
	call := []byte(`{"object":"c42","method":"increment","params":{"by":2,"times":3}}`)
	inc := []byte(`{"by":2,"times":3}`)
	type incParams struct {
		By    int64 `json:"by"`
		Times int   `json:"times"`
	}
	for _, d := range []struct {
		name string
		fn   func([]byte, any) error
	}{{"exact", Unmarshal}, {"legacy", json.Unmarshal}} {
		b.Run("call/"+d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p CallParams
				if err := d.fn(call, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("increment/"+d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p incParams
				if err := d.fn(inc, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
