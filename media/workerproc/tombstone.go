package workerproc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// buryTimeout bounds the replay of a dead worker's end.
const buryTimeout = 5 * time.Second

// closeEvent is the event an object emits when its parent closes under it
// (mediasoup's "workerclose", "routerclose", "transportclose"), by the
// parent's ROPE type.
var closeEvent = map[string]string{
	"Worker":          "workerclose",
	"Router":          "routerclose",
	"WebRtcTransport": "transportclose",
	"PlainTransport":  "transportclose",
	"PipeTransport":   "transportclose",
	"DirectTransport": "transportclose",
}

// bury closes the mirrors of a dead worker with mediasoup's events. It
// serves the mirror's last state from a ROPE server in this process (the
// tombstone), points the connection at it, and there closes every object
// of the worker deepest first, each after the event its parent's end
// gives it, and the worker last, after "died".
func (w *worker) bury(cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), buryTimeout)
	defer cancel()
	rs := ropeserver.New(&ropeserver.Options{Logger: slog.New(slog.DiscardHandler), PingInterval: -1})
	defer rs.Close()
	objs, err := rebuild(rs, w.rc)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("tombstone: %w", err)
	}
	hs := &http.Server{Handler: rs, ReadHeaderTimeout: buryTimeout}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer hs.Close()
	wg.Go(func() { _ = hs.Serve(ln) })

	connected := make(chan struct{}, 1)
	off := w.rc.OnConnected(func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	})
	defer off()
	w.target.set(ln.Addr().String())
	select {
	case <-connected:
	case <-ctx.Done():
		return fmt.Errorf("tombstone: reconnect: %w", ctx.Err())
	}

	id := w.Worker.(interface{ ID() string }).ID()
	wo, ok := objs[id]
	if !ok {
		return fmt.Errorf("tombstone: worker %s not in the mirror", id)
	}
	// As mediasoup: the routers (and their transports) first, then the
	// WebRtcServers.
	slices.SortStableFunc(wo.kids, func(a, b *node) int {
		return cmp.Compare(btoi(a.o.Type() == "WebRtcServer"), btoi(b.o.Type() == "WebRtcServer"))
	})
	for _, r := range wo.kids {
		closeTree(r)
	}
	_ = wo.o.SetProp("died", true)
	_ = wo.o.Emit("died", cause.Error())
	wo.o.Close()
	// The mirror has the worker closed once its close arrived; the
	// client's dispatcher runs the listeners before rc.Close returns.
	for !w.Worker.Closed() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("tombstone: worker close: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// node is a tombstone object with its children.
type node struct {
	o    *ropeserver.Object
	kids []*node
}

// closeTree closes n's subtree deepest first: each object after the event
// its parent's end gives it.
func closeTree(n *node) {
	for _, k := range n.kids {
		closeTree(k)
	}
	if p := n.o.Parent(); p != nil {
		if ev, ok := closeEvent[p.Type()]; ok {
			_ = n.o.Emit(ev, nil) // types without that event refuse it
		}
	}
	n.o.Close()
}

// rebuild creates on rs the types and objects of rc's mirror, parents
// first, with their properties and appData.
func rebuild(rs *ropeserver.Server, rc *ropeclient.Client) (map[string]*node, error) {
	mirror := rc.Objects()
	byID := make(map[string]*ropeclient.Object, len(mirror))
	for _, o := range mirror {
		byID[o.ID()] = o
	}
	depth := func(o *ropeclient.Object) int {
		d := 0
		for p := byID[o.ParentID()]; p != nil && d < len(mirror); p = byID[p.ParentID()] {
			d++
		}
		return d
	}
	slices.SortStableFunc(mirror, func(a, b *ropeclient.Object) int { return depth(a) - depth(b) })
	types := map[string]bool{}
	nodes := make(map[string]*node, len(mirror))
	for _, o := range mirror {
		if !types[o.Type()] {
			ti, ok := rc.Type(o.Type())
			if !ok {
				return nil, fmt.Errorf("tombstone: type %s unknown", o.Type())
			}
			if err := rs.RegisterType(ropeserver.Type{Name: ti.Name, Events: ti.Events, Properties: ti.Properties}); err != nil {
				return nil, fmt.Errorf("tombstone: %w", err)
			}
			types[o.Type()] = true
		}
		props := make(map[string]any)
		for k, v := range o.Props() {
			props[k] = json.RawMessage(v)
		}
		opts := &ropeserver.ObjectOptions{ID: o.ID(), Props: props}
		if ad := o.AppData(); len(ad) > 0 {
			opts.AppData = json.RawMessage(ad)
		}
		parent := nodes[o.ParentID()]
		if parent != nil {
			opts.Parent = parent.o
		}
		so, err := rs.Create(o.Type(), opts)
		if errors.Is(err, ropeserver.ErrClosed) {
			continue // the mirror closed it meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("tombstone: %w", err)
		}
		n := &node{o: so}
		nodes[o.ID()] = n
		if parent != nil {
			parent.kids = append(parent.kids, n)
		}
	}
	return nodes, nil
}
