package webrtc_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/pion/sctp"

	rope "github.com/ropehq/rope/media/webrtc"
	"github.com/ropehq/rope/media/webrtc/dtlstransport"
	"github.com/ropehq/rope/media/webrtc/ice"
)

// Example shows how an engine wraps a Transport into a mediasoup
// WebRtcTransport: send Parameters to the client, pass connect()'s
// dtlsParameters to Connect, and take media and events from callbacks.
func Example() {
	srv, err := rope.NewServer(&rope.ServerOptions{ListenInfos: []rope.ListenInfo{
		{Protocol: "udp", IP: "127.0.0.1"},
		{Protocol: "tcp", IP: "127.0.0.1"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	tr, err := srv.NewTransport(&rope.TransportOptions{
		EnableSCTP:        true,
		OnRTP:             func(pkt []byte) { /* parse, route to the Producer; copy to keep */ },
		OnRTCP:            func(pkt []byte) { /* feedback for Producers and Consumers */ },
		OnICEStateChange:  func(s ice.State) { fmt.Println("icestatechange", s) },
		OnDTLSStateChange: func(s dtlstransport.State, err error) { fmt.Println("dtlsstatechange", s, err) },
		OnSCTPStream:      func(st *sctp.Stream) { /* DataProducer on st.StreamIdentifier() */ },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	// createWebRtcTransport() answer: iceParameters, iceCandidates, dtlsParameters.
	js, _ := json.Marshal(tr.Parameters())
	_ = js

	// connect({ dtlsParameters }) from mediasoup-client.
	role, err := tr.Connect(rope.DTLSParameters{
		Role:         "client",
		Fingerprints: []rope.DTLSFingerprint{{Algorithm: "sha-256", Value: "AB:CD:..."}},
	})
	fmt.Println(role, err)

	// Consumers send with tr.WriteRTP(pkt) once DTLS is connected.

	// Output: server <nil>
}
