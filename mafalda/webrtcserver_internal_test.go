package mafalda

import (
	"errors"
	"testing"

	"github.com/ropehq/rope/media"
)

// TestShiftListenInfos: fixed ports move up by the slot, port ranges and
// port 0 stay, and a port past 65535 is an error.
func TestShiftListenInfos(t *testing.T) {
	in := []media.TransportListenInfo{
		{Protocol: media.ProtocolUDP, IP: "127.0.0.1", Port: 40000},
		{Protocol: media.ProtocolTCP, IP: "127.0.0.1", PortRange: &media.PortRange{Min: 50000, Max: 50100}},
		{Protocol: media.ProtocolUDP, IP: "127.0.0.1"},
	}
	out, err := shiftListenInfos(in, 3)
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Port != 40003 || out[1].Port != 0 || out[1].PortRange != in[1].PortRange || out[2].Port != 0 {
		t.Fatalf("shifted %+v", out)
	}
	if in[0].Port != 40000 {
		t.Fatal("input changed")
	}
	if _, err := shiftListenInfos([]media.TransportListenInfo{{IP: "127.0.0.1", Port: 65535}}, 1); !errors.Is(err, media.ErrInvalidParams) {
		t.Fatalf("err %v, want ErrInvalidParams", err)
	}
}
