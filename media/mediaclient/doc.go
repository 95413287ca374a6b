// Package mediaclient implements the media API over ROPE: a Client wraps a
// *ropeclient.Client connected to a server that serves media objects with
// media/mediaserver (spec/media-v1.md), and behaves like the local engine,
// so that an application swaps one constructor to move the SFU to another
// machine:
//
//	api := engine.New(nil)                         // in process
//	api, err := mediaclient.Dial(ctx, url, nil)    // over ROPE
//
// (or mediaclient.New(rc, nil) on a ropeclient.Client of your own).
//
// Each media object is backed by its ropeclient.Object mirror: getters
// read the mirror and never block; blocking methods are calls, which
// return once the mirror reflects what they changed; OnXxx registrations
// are mirror events (run on the ropeclient's ordered callback goroutine);
// observer events such as OnNewRouter come from objects appearing in the
// mirror, whoever created them. Errors match the media sentinels with
// errors.Is; a call on an object whose mirror is closed fails with
// media.ErrClosed without going to the server.
//
// Packets of a DirectTransport travel as calls and notifications
// (spec/media-v1.md §6.2): Producer.Send and DirectTransport.SendRtcp make
// one call per packet (blocking for its round trip), and Consumer.OnRtp and
// DirectTransport.OnRtcp subscribe this connection to the server's packet
// notifications while they have a listener (again after a reconnection;
// packets meanwhile, or while the connection is far behind, are lost).
// Data messages travel as one call or event each (DataProducer.Send,
// DataConsumer.Send, DataConsumer.OnMessage).
package mediaclient
