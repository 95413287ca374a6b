package mediaserver

import (
	"context"

	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// creating are the catalogue methods that create one media object for the
// caller and answer {"id"}: the object is leased to the caller's session
// (Part I §17, media-v1 §3.1.7). pipeToRouter is not among them: its pipe
// objects serve whoever consumes the piped producer, and close with it.
var creating = map[string]bool{
	"createWorker": true, "createRouter": true, "createWebRtcServer": true,
	"createWebRtcTransport": true, "createPlainTransport": true, "createPipeTransport": true,
	"createDirectTransport": true, "createActiveSpeakerObserver": true, "createAudioLevelObserver": true,
	"produce": true, "consume": true, "produceData": true, "consumeData": true,
}

// leaseCreating wraps the creating methods of a type's method table in
// Leased.
func (s *Server) leaseCreating(ms map[string]ropeserver.MethodFunc) map[string]ropeserver.MethodFunc {
	for name, fn := range ms {
		if creating[name] {
			ms[name] = s.Leased(fn)
		}
	}
	return ms
}

// Leased wraps a method that creates one object for the caller and answers
// {"id"} (rope.CreateResult): the object is leased to the caller's session
// (Part I §17), so it closes, as its close method closes it, when the
// caller has been gone past its grace. When the session holds the most
// objects it may, the call answers -32005 Overloaded before anything is
// created. mafalda/mafaldaserver wraps createMafaldaRouter in it.
func (s *Server) Leased(fn ropeserver.MethodFunc) ropeserver.MethodFunc {
	return func(ctx context.Context, call *ropeserver.Call) (any, error) {
		if err := call.Reserve(1); err != nil {
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
