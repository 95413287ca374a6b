package workerproc

import (
	"cmp"
	"encoding/json"

	"github.com/ropehq/rope/ropeclient"
)

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

// bury closes the mirrors of a dead worker with mediasoup's events:
// ropeclient's CloseLocal closes every object of the connection deepest
// first, each after the event its parent's end gives it (when its type
// lists that event), and the worker after "died" with the cause.
func (w *worker) bury(cause error) {
	// The catalogue, read before the mirror locks for CloseLocal.
	events := map[string]map[string]bool{}
	for _, o := range w.rc.Objects() {
		if _, ok := events[o.Type()]; ok {
			continue
		}
		ti, _ := w.rc.Type(o.Type())
		events[o.Type()] = map[string]bool{}
		for _, e := range ti.Events {
			events[o.Type()][e] = true
		}
	}
	died, _ := json.Marshal(cause.Error())
	_ = w.rc.CloseLocal(&ropeclient.LocalCloseOptions{
		LastEvent: func(o, parent *ropeclient.Object) (string, json.RawMessage) {
			if o.Type() == "Worker" {
				return "died", died
			}
			if parent == nil {
				return "", nil
			}
			if ev := closeEvent[parent.Type()]; events[o.Type()][ev] {
				return ev, nil
			}
			return "", nil
		},
		// As mediasoup: a worker's routers (with their transports) close
		// before its WebRtcServers.
		Order: func(a, b *ropeclient.Object) int {
			return cmp.Compare(closesLast(a), closesLast(b))
		},
	})
}

// closesLast is 1 for the objects a worker closes after its routers.
func closesLast(o *ropeclient.Object) int {
	if o.Type() == "WebRtcServer" {
		return 1
	}
	return 0
}
