// Package webrtc is the connection layer of a mediasoup-style
// WebRtcTransport and WebRtcServer, built on pion's lower layers so that
// mediasoup-client works unchanged against it.
//
// A [Transport] is an ICE-lite server (package ice) plus a DTLS endpoint
// (package dtlstransport) that derives SRTP keys (package srtpsession) and
// optionally runs an SCTP association for data channels. Its
// [Transport.Parameters] are mediasoup's iceParameters, iceCandidates and
// dtlsParameters; [Transport.Connect] takes the remote dtlsParameters, as
// mediasoup's connect() does, and nothing else: the remote ICE credentials
// are never needed.
//
// A [Server] owns UDP sockets and TCP servers (package listener) and
// routes packets to its transports: a packet from a known 5-tuple goes to
// the transport that validated the tuple; otherwise only a STUN Binding
// request is considered, routed by the local ufrag in its USERNAME. This is
// mediasoup's WebRtcServer; a transport created with [NewTransport] owns a
// private Server with its own ports. [Server.Dump] lists the sockets and
// both routing tables.
//
// On one tuple, packets are told apart by their first byte (RFC 7983,
// package demux): STUN is answered by ICE, DTLS records feed the DTLS
// handshake and SCTP, RTP and RTCP are decrypted in place and handed to
// [TransportOptions.OnRTP] and [TransportOptions.OnRTCP]; a UDP socket
// reads up to 16 datagrams at once (recvmmsg) and then calls
// [TransportOptions.OnReadBatchEnd] of each transport that got some.
// Outbound RTP and RTCP ([Transport.WriteRTP], [Transport.WriteRTCP]) and
// DTLS go to the selected tuple; [Transport.WriteRTPBatch] protects a
// batch under one SRTP lock and sends it with one sendmmsg (one write of
// frames on TCP), and an [RTPBatchWriter] sends the batches of several
// transports sharing a Server's UDP socket with one sendmmsg.
//
// Goroutines: one reader per UDP socket and per TCP connection (owned by
// the Server), one accept loop per TCP server, and per transport one DTLS
// goroutine (handshake, then SCTP accept loop or DTLS drain) plus pion's
// own DTLS and SCTP goroutines. Close stops and waits for all of them.
//
// Lock order: Transport.iceMu, Transport.mu, then ice.Server's lock or
// Server.mu. ICE results are applied and their callbacks called under
// iceMu, in ICE's order. Server.mu
// is never held while calling into a transport, and no lock but iceMu is
// held while calling a callback. Callbacks may come from several goroutines (socket
// readers, the DTLS goroutine, the consent timer); they must not call
// Close synchronously (Close waits for those goroutines): call it from
// another goroutine.
package webrtc
