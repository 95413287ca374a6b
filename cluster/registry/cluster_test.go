package registry_test

import (
	"fmt"
	"testing"

	"github.com/ropehq/rope/cluster/natsutil"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/internal/wait"
)

// startCluster starts a NATS cluster of n embedded servers on loopback
// ports, each routed to the first, and waits until it has formed.
func startCluster(t *testing.T, n int) []*natsutil.Server {
	t.Helper()
	first := startNATS(t, &natsutil.ServerOptions{Name: "n0", Cluster: &natsutil.ClusterOptions{}})
	nodes := []*natsutil.Server{first}
	for i := 1; i < n; i++ {
		nodes = append(nodes, startNATS(t, &natsutil.ServerOptions{
			Name: fmt.Sprintf("n%d", i), Cluster: &natsutil.ClusterOptions{Routes: []string{first.RouteURL()}},
		}))
	}
	for _, s := range nodes {
		wait.Until(t, "the NATS cluster formed", func() bool { return s.Peers() == n-1 })
	}
	return nodes
}

// TestMembersOnDifferentNodes: members connected to different nodes of a
// three-node NATS cluster see each other; when a node shuts down, its
// member reconnects to another node and stays in (or comes back into)
// the others' view, and the others stay in its view.
func TestMembersOnDifferentNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	a := join(t, connect(t, nodes[0].ClientURL()), "a")
	ncB := connect(t, nodes[1].ClientURL())
	b := join(t, ncB, "b")
	c := join(t, connect(t, nodes[2].ClientURL()), "c")
	all := func() bool {
		return sees(a, "b") && sees(a, "c") && sees(b, "a") && sees(b, "c") && sees(c, "a") && sees(c, "b")
	}
	wait.Until(t, "everyone sees everyone", all)

	before := ncB.ConnectedUrl()
	nodes[1].Close()
	wait.Until(t, "b reconnected to another node", func() bool {
		return ncB.IsConnected() && ncB.ConnectedUrl() != before
	})
	wait.Until(t, "everyone still sees everyone", all)
	if err := b.Update(func(r *registry.Record) { r.Load = 7 }); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, "b's update reaches a and c", func() bool {
		sa, _ := a.Server("b")
		sc, _ := c.Server("b")
		return sa.Load == 7 && sc.Load == 7
	})
}

// TestNATSGoesAndComesBack: when the only NATS server goes away, members
// lose each other; when it is back on the same port, they reconnect and
// find each other again.
func TestNATSGoesAndComesBack(t *testing.T) {
	ns := startNATS(t, nil)
	url := ns.ClientURL()
	a := join(t, connect(t, url), "a")
	b := join(t, connect(t, url), "b")
	wait.Until(t, "a and b see each other", func() bool { return sees(a, "b") && sees(b, "a") })
	ns.Close()
	wait.Until(t, "a and b lost each other", func() bool { return !sees(a, "b") && !sees(b, "a") })
	startNATS(t, &natsutil.ServerOptions{Port: port(t, url)})
	wait.Until(t, "a and b see each other again", func() bool { return sees(a, "b") && sees(b, "a") })
}
