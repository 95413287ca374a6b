package media

import (
	"encoding/json"
	"testing"
)

func TestSctpStreamParametersJSON(t *testing.T) {
	t.Parallel()
	var p SctpStreamParameters
	if err := json.Unmarshal([]byte(`{"streamId":3,"ordered":false,"maxRetransmits":0}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.StreamID != 3 || p.IsOrdered() || p.MaxRetransmits == nil || *p.MaxRetransmits != 0 || p.MaxPacketLifeTime != nil {
		t.Fatalf("decoded %+v", p)
	}
	out, _ := json.Marshal(p)
	if got, want := string(out), `{"streamId":3,"ordered":false,"maxRetransmits":0}`; got != want {
		t.Errorf("marshal = %s, want %s", got, want)
	}
	if !(SctpStreamParameters{}).IsOrdered() {
		t.Error("unset ordered should read as ordered")
	}
	caps, _ := json.Marshal(SctpCapabilities{NumStreams: NumSctpStreams{OS: 1024, MIS: 1024}})
	if got, want := string(caps), `{"numStreams":{"OS":1024,"MIS":1024}}`; got != want {
		t.Errorf("caps = %s, want %s", got, want)
	}
}
