// Package mediaserver serves a media.API as ROPE object types on a
// *ropeserver.Server, so that media/mediaclient (or any ROPE client that
// follows spec/media-v1.md) can drive the SFU from another process.
//
// Every media object becomes one ROPE object of the type named after its
// mediasoup class (MediaService, Worker, Router, PlainTransport, Producer,
// ...), a child of the object it belongs to: MediaService > Worker >
// Router > transport or RTP observer > Producer, Consumer, DataProducer,
// DataConsumer, and Worker > WebRtcServer. Its ROPE id is the media
// object's id (a new UUID for workers); a producer piped into a router of
// the same server, whose media id is already taken, gets
// "<id>@<transportId>" and keeps its media id in the "id" property.
// Router.createWebRtcTransport names its WebRtcServer by id
// ("webRtcServerId").
//
// Objects are registered from the media observer events (OnNewRouter,
// OnNewTransport, OnNewProducer, ...), so objects created any way, also by
// PipeToRouter or by the application itself, appear. A method that
// creates an object registers it before it answers, so rope.created
// precedes the response. Objects are keyed by their Go value: the API
// served must report in its events the value the creating call returned
// (media/mediatest's "identity" step checks it), or one media object
// becomes two ROPE objects. Media events become ROPE events, each preceded by
// an update of the object's changed properties; the ROPE close follows the
// media object's own close, so a remote consumer sees "producerclose"
// then its close.
//
// What clients can make the server hold is bounded (Options.MaxWorkers,
// MaxWorkersPerConn, MaxPacketSubscriptions) and where their transports
// listen can be (Options.Listen). Packets of DirectTransports reach only
// the connections that subscribed to them, as unsequenced notifications
// dropped for a connection that is far behind (packets.go). Media errors go to clients without what they wrap, a
// failure to open a socket as a TypeError, and internal errors, also a
// worker process's, without their text (WireError).
//
// Another package can serve a media object under a type of its own that
// extends a catalogue type (Extension, Server.Extend, Server.Add):
// mafalda/mafaldaserver serves a MafaldaRouter as "MafaldaRouter", a
// Router with more properties and events, whose transports are served as
// here.
package mediaserver
