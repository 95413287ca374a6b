package mediaserver

import (
	"context"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// creating are the catalogue methods that create one media object for the
// caller and answer {"id"}, with the type of what they create: the object
// is leased to the caller's session (Part I §17, media-v1 §3.1.7) and
// counts against the caller's grant's quota for its type (Part I §18).
// pipeToRouter is not among them: its pipe objects serve whoever consumes
// the piped producer, and close with it.
var creating = map[string]string{
	"createWorker": TypeWorker, "createRouter": TypeRouter, "createWebRtcServer": TypeWebRtcServer,
	"createWebRtcTransport": TypeWebRtcTransport, "createPlainTransport": TypePlainTransport,
	"createPipeTransport": TypePipeTransport, "createDirectTransport": TypeDirectTransport,
	"createActiveSpeakerObserver": TypeActiveSpeakerObserver, "createAudioLevelObserver": TypeAudioLevelObserver,
	"produce": TypeProducer, "consume": TypeConsumer, "produceData": TypeDataProducer, "consumeData": TypeDataConsumer,
}

// leaseCreating wraps the creating methods of a type's method table in
// Leased.
func (s *Server) leaseCreating(ms map[string]ropeserver.MethodFunc) map[string]ropeserver.MethodFunc {
	for name, fn := range ms {
		if typ, ok := creating[name]; ok {
			ms[name] = s.LeasedType(typ, fn)
		}
	}
	return ms
}

// Leased wraps a method that creates one object for the caller and answers
// {"id"} (rope.CreateResult): the object is leased to the caller's session
// (Part I §17), so it closes, as its close method closes it, when the
// caller has been gone past its grace. When the session holds the most
// objects it may, the call answers -32005 Overloaded before anything is
// created.
func (s *Server) Leased(fn ropeserver.MethodFunc) ropeserver.MethodFunc {
	return s.LeasedType("", fn)
}

// LeasedType is Leased for a method that creates an object of the named
// type: a call past its grant's quota for that type (Part I §18) answers
// -32005 Overloaded before anything is created, too.
// mafalda/mafaldaserver wraps createMafaldaRouter in it.
func (s *Server) LeasedType(typeName string, fn ropeserver.MethodFunc) ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		reserve := call.Reserve
		if typeName != "" {
			reserve = func(n int) error { return call.ReserveType(typeName, n) }
		}
		if err := reserve(1); err != nil {
			return nil, err
		}
		res, err := fn(ctx, call)
		if err != nil {
			return res, err
		}
		cr, ok := res.(rope.CreateResult)
		if !ok {
			return res, nil
		}
		o, ok := s.rs.Object(cr.ID)
		if !ok {
			return res, nil // closed already
		}
		if err := call.Own(o); err != nil {
			// Do not leave an object its creator cannot hold.
			if vc, ok := o.Value().(ropeserver.ValueCloser); ok {
				_ = vc.Close(context.WithoutCancel(ctx))
			}
			o.Close()
			return nil, err
		}
		return res, nil
	}
}
