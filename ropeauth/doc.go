// Package ropeauth owns ROPE's signed access tokens: JSON Web Tokens whose
// claims carry a grant (ropeserver.Grant) that says what a connection may
// see and call. An application server mints them (Signer, Participant and
// MafaldaParticipant for a media room); a ROPE server verifies them once,
// at the handshake (Verifier, and its Authorize for
// ropeserver.Options.Authorize), and the grant then bounds every call.
//
// # Claims
//
// A token's claims are the registered claims of RFC 7519 and one private
// claim, "rope":
//
//	{
//	  "sub": "alice",               // the subject: owner of the objects its calls create; required unless operator
//	  "exp": 1767139200,            // required unless the token is an operator's
//	  "iat": 1767135600,            // optional; not after now (+ leeway)
//	  "nbf": 1767135600,            // optional; not after now (+ leeway)
//	  "aud": "rope",                // optional; required when VerifierOptions.Audience is set
//	  "rope": {
//	    "roots":  ["<router id>"],  // ids whose subtrees are visible; absent: every object
//	    "hide":   {"WebRtcTransport": "othersShallow", "Consumer": "others"},
//	    "calls":  {"Router": {"any": ["createWebRtcTransport", "canConsume"]},
//	               "WebRtcTransport": {"own": ["connect", "produce", "consume"]}},
//	    "quotas": {"WebRtcTransport": 4, "Producer": 8, "Consumer": 64}
//	  }
//	}
//
// "hide" maps a type name to "others" (objects of that type, and what is
// under them, that the subject does not own are not visible), "all" (none
// is, nor what is under them) or "othersShallow" (objects of that type the
// subject does not own are not visible, what is under them still is). "calls" maps a type name to the methods allowed on every
// visible object of the type ("any") and on those the subject owns
// ("own"); "*" stands for every method. A type absent from "calls" allows
// no method, and so does an absent "calls": a participant token names
// each call it needs. "quotas" maps a type name to the most live objects
// of that type the subject may own at once. Names outside these are
// refused, so that a claim a newer minter adds is never silently dropped.
//
// An operator token carries "rope": {"operator": true} and nothing else in
// "rope": full access, as the server's shared -token gives. Its "exp" is
// optional (a deployment may hold a long-lived one); a participant token
// without "exp" is refused.
//
// A token without a "rope" claim is refused: it was not minted for ROPE.
//
// # Keys and algorithms
//
// The key decides the algorithm, and a Verifier accepts only the
// algorithms of the keys it holds: HS256 for an HMAC secret (at least 32
// bytes), EdDSA for an Ed25519 key, ES256 for an ECDSA P-256 key, RS256 for
// an RSA key of at least 2048 bits. A token whose header names another
// algorithm ("none", HS256 against a public key, RS256 against an Ed25519
// key, ...) is refused before any key is tried; a token whose header
// carries "crit" is refused (no extension is understood).
//
// # Time
//
// A Verifier allows DefaultLeeway (30 s) of clock skew between the
// minting host and itself on "exp", "nbf" and "iat"; VerifierOptions.Leeway
// changes it. The grant's Expires is "exp" plus that leeway: a connection
// is closed when the token it presented would no longer be accepted.
package ropeauth
