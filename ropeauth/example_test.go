package ropeauth_test

import (
	"fmt"
	"log"
	"time"

	"github.com/ropehq/rope/ropeauth"
	"github.com/ropehq/rope/ropeserver"
)

// An app server mints a participant token for a room; the media server
// verifies it at the handshake and serves the connection with its grant.
func ExampleParticipant() {
	secret := []byte("a secret the app and media servers share")

	// The app server, after authenticating the user:
	signer, err := ropeauth.NewHMACSigner(secret)
	if err != nil {
		log.Fatal(err)
	}
	token, err := signer.Sign(ropeauth.Participant("room-router-id", "user-42", time.Hour))
	if err != nil {
		log.Fatal(err)
	}

	// The media server:
	v, err := ropeauth.NewVerifier(ropeauth.VerifierOptions{Secrets: [][]byte{secret}})
	if err != nil {
		log.Fatal(err)
	}
	srv := ropeserver.New(&ropeserver.Options{Authorize: (&ropeauth.Authorizer{Verifier: v, OperatorToken: "ops-token"}).Authorize})
	defer srv.Close()

	claims, err := v.Verify(token)
	if err != nil {
		log.Fatal(err)
	}
	g := claims.Grant(v.Leeway())
	fmt.Println(g.Subject, g.Roots, g.Calls["Router"].Any, g.Quotas["WebRtcTransport"])
	// Output: user-42 [room-router-id] [createWebRtcTransport canConsume] 4
}
