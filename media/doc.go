// Package media is the SFU's media API, defined once: interfaces for
// Worker, Router, the transports, Producer, Consumer, DataProducer,
// DataConsumer and RtpObserver, plus plain data (options, dumps, stats)
// whose JSON field names are mediasoup v3's.
//
// The local engine (media/engine), a remote client speaking ROPE and the
// multi-worker layer all implement these interfaces, so code written
// against them runs unchanged on any of them.
//
// Conventions:
//   - Every call that may block takes a context.Context first and returns
//     an error; errors match the sentinels of errors.go with errors.Is.
//   - Close(ctx) is idempotent. Closing an object closes its children, and
//     each child reports why (OnTransportClose, OnRouterClose, ...).
//   - Getters (ID, Closed, Paused, Kind, RtpParameters, AppData, ...) do not
//     block and return the object's last known state.
//   - Events are typed registrations named after mediasoup's events:
//     OnXxx(handler) returns an off function that removes the handler.
//     Handlers run on an engine goroutine and must not block; OnClose
//     handlers run after the object has closed.
//   - Options are passed as pointers; nil means all defaults, and every
//     field documents its default.
//   - Packet-level calls (Producer.Send, DirectTransport.SendRtcp, ...)
//     never block and take no context; byte slices handed to packet
//     handlers are only valid during the call.
package media

// AppData is custom application data attached to any media object. The
// engine never reads it.
type AppData map[string]any

// AppDataNotifier is implemented by media objects that report each
// replacement of their appData (SetAppData, from the application or from a
// remote client), so that a server can publish it to its clients. The
// local engine's and the remote client's objects implement it. Changing
// the map returned by AppData in place is not reported.
type AppDataNotifier interface {
	OnAppDataChange(func(AppData)) (off func())
}

// Clone returns a shallow copy of d (nil stays nil).
func (d AppData) Clone() AppData {
	if d == nil {
		return nil
	}
	c := make(AppData, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}
