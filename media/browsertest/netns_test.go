package browsertest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// netLink is a network namespace the test created, joined to the host's
// by a veth pair with addresses from a /30 of 198.18.0.0/15 (RFC 2544's
// range for benchmark tests, used only by the test). Traffic the host
// sends to nsIP leaves through hostIf, where limit puts a tbf qdisc.
type netLink struct {
	ns             string
	hostIf, nsIf   string
	hostIP, nsIP   netip.Addr
	chromiumInside string // a script that runs Chromium inside ns
}

// newNetLink creates the namespace and the veth pair, with names unique
// to this run, and removes both in t's cleanup, also on failure. It
// skips t when the test is not root or ip cannot make namespaces here.
func newNetLink(t *testing.T) *netLink {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test makes a network namespace, a veth pair and a tc qdisc")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (iproute2) for a network namespace and its rate limit: %v", tool, err)
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	tag := fmt.Sprintf("%06x", binary.BigEndian.Uint32(b[:])&0xffffff)
	l := &netLink{ns: "rope-bt-" + tag, hostIf: "rbt" + tag + "h", nsIf: "rbt" + tag + "n"}
	if out, err := exec.Command("ip", "netns", "add", l.ns).CombinedOutput(); err != nil {
		t.Skipf("network namespaces unavailable here: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Deleting one end of the pair deletes the other; the namespace
		// goes with its last process.
		_ = exec.Command("ip", "link", "del", l.hostIf).Run()
		if out, err := exec.Command("ip", "netns", "del", l.ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", l.ns, err, out)
		}
	})
	l.hostIP, l.nsIP = freeSubnet(t)
	run(t, "ip", "link", "add", l.hostIf, "type", "veth", "peer", "name", l.nsIf, "netns", l.ns)
	run(t, "ip", "addr", "add", l.hostIP.String()+"/30", "dev", l.hostIf)
	run(t, "ip", "link", "set", l.hostIf, "up")
	run(t, "ip", "-n", l.ns, "addr", "add", l.nsIP.String()+"/30", "dev", l.nsIf)
	run(t, "ip", "-n", l.ns, "link", "set", l.nsIf, "up")
	run(t, "ip", "-n", l.ns, "link", "set", "lo", "up")
	l.chromiumInside = filepath.Join(t.TempDir(), "chromium-in-netns")
	script := fmt.Sprintf("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n", l.ns, chromiumPath())
	if err := os.WriteFile(l.chromiumInside, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return l
}

// freeSubnet picks a /30 of 198.18.0.0/15 that no address of the host is
// in: the host's end and the namespace's.
func freeSubnet(t *testing.T) (host, ns netip.Addr) {
	t.Helper()
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr show: %v", err)
	}
	for range 64 {
		var b [2]byte
		_, _ = rand.Read(b[:])
		base := netip.AddrFrom4([4]byte{198, 18 + b[0]&1, b[1], 4 * (b[0] >> 2)})
		prefix := netip.PrefixFrom(base, 30)
		taken := false
		for _, f := range strings.Fields(string(out)) {
			if p, err := netip.ParsePrefix(f); err == nil && p.Overlaps(prefix) {
				taken = true
			}
		}
		if !taken {
			return base.Next(), base.Next().Next()
		}
	}
	t.Fatal("no free /30 in 198.18.0.0/15")
	return
}

// limit puts a token bucket on what the host sends into the namespace:
// rate (tc's units, "350kbit"), a 16 KB bucket, packets that would wait
// over 200 ms dropped.
func (l *netLink) limit(t *testing.T, rate string) {
	t.Helper()
	run(t, "tc", "qdisc", "replace", "dev", l.hostIf, "root", "tbf", "rate", rate, "burst", "16kb", "latency", "200ms")
}

// unlimit removes the limit.
func (l *netLink) unlimit(t *testing.T) {
	t.Helper()
	run(t, "tc", "qdisc", "del", "dev", l.hostIf, "root")
}

// run runs a command that must succeed.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// chromiumPath is the Chromium the drivers run (CHROMIUM, else Debian's).
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}
