package mediaserver

import (
	"errors"
	"testing"

	"github.com/ropehq/rope/media"
)

func TestListenPolicy(t *testing.T) {
	p := &ListenPolicy{IPs: []string{"0.0.0.0", "::1"}, MinPort: 40000, MaxPort: 40009}
	for _, tc := range []struct {
		li media.TransportListenInfo
		ok bool
	}{
		{media.TransportListenInfo{IP: "127.0.0.2"}, true}, // every IPv4 address with 0.0.0.0
		{media.TransportListenInfo{IP: "::1", Port: 40009}, true},
		{media.TransportListenInfo{IP: "::2"}, false},
		{media.TransportListenInfo{IP: "::ffff:127.0.0.1"}, true}, // IPv4-mapped is IPv4
		{media.TransportListenInfo{IP: "127.0.0.1", Port: 40010}, false},
		{media.TransportListenInfo{IP: "127.0.0.1", PortRange: &media.PortRange{Min: 40000, Max: 40009}}, true},
		{media.TransportListenInfo{IP: "127.0.0.1", PortRange: &media.PortRange{Min: 39999, Max: 40001}}, false},
		{media.TransportListenInfo{IP: "127.0.0.1", PortRange: &media.PortRange{Min: 40005, Max: 40001}}, false},
		{media.TransportListenInfo{IP: "not an ip"}, true}, // left to the implementation
		// A port range makes a plain transport ignore its port: both count.
		{media.TransportListenInfo{IP: "127.0.0.1", Port: 40001, PortRange: &media.PortRange{Min: 1000, Max: 2000}}, false},
		{media.TransportListenInfo{IP: "127.0.0.1", Port: 1000, PortRange: &media.PortRange{Min: 40000, Max: 40001}}, false},
		{media.TransportListenInfo{IP: "127.0.0.1", Flags: &media.TransportSocketFlags{UDPReusePort: true}}, false},
		{media.TransportListenInfo{IP: "127.0.0.1", Flags: &media.TransportSocketFlags{IPv6Only: true}}, true},
	} {
		err := p.checkListenInfo("listenInfo", &tc.li)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, media.ErrInvalidParams)) {
			t.Errorf("%+v: %v", tc.li, err)
		}
	}
	// "::" is dual-stack unless ipv6Only: it needs 0.0.0.0 too.
	v6 := &ListenPolicy{IPs: []string{"::"}, AllowUDPReusePort: true}
	for _, tc := range []struct {
		li media.TransportListenInfo
		ok bool
	}{
		{media.TransportListenInfo{IP: "::"}, false},
		{media.TransportListenInfo{IP: "::", Flags: &media.TransportSocketFlags{IPv6Only: true}}, true},
		{media.TransportListenInfo{IP: "::1", Flags: &media.TransportSocketFlags{UDPReusePort: true}}, true},
	} {
		if err := v6.checkListenInfo("listenInfo", &tc.li); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.li, err)
		}
	}
	both := &ListenPolicy{IPs: []string{"::", "0.0.0.0"}}
	if err := both.checkListenInfo("listenInfo", &media.TransportListenInfo{IP: "::"}); err != nil {
		t.Errorf("dual-stack with both allowed: %v", err)
	}
	var none *ListenPolicy
	if err := none.checkListenInfo("listenInfo", &media.TransportListenInfo{IP: "10.1.1.1", Port: 1}); err != nil {
		t.Errorf("no policy: %v", err)
	}
	w := &media.WorkerSettings{RtcMaxPort: 40005}
	if err := p.applyWorkerPorts(w); err != nil || w.RtcMinPort != 40000 || w.RtcMaxPort != 40005 {
		t.Errorf("worker ports %d-%d: %v", w.RtcMinPort, w.RtcMaxPort, err)
	}
	if err := p.applyWorkerPorts(&media.WorkerSettings{RtcMinPort: 40008, RtcMaxPort: 40002}); !errors.Is(err, media.ErrInvalidParams) {
		t.Errorf("reversed worker range: %v", err)
	}
}
