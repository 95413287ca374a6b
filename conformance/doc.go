// Package conformance is the ROPE v1 server conformance suite: scripted
// send/expect cases run against a pluggable target (a WebSocket URL), each
// tied to a numbered requirement of spec/rope-v1.md.
//
// A [Case] has an id of the form "rope/<section>/<n>" (for example
// "rope/6.7.1/1"), the requirement level of the sentence it checks (MUST,
// SHOULD, MAY) and a one-line title quoting it. Cases drive the target
// through raw WebSocket peers ([Peer]) that record every frame sent and
// received, so a failed case can be replayed by hand from its report.
//
// The target must expose the standard test fixture (spec §15). [Run] runs
// the selected cases one after another and returns a [Report]; a failed
// MUST case fails the run, a failed SHOULD or MAY case is only a warning.
// Requirements the suite does not check are listed, with the reason, in
// [Excluded].
//
// cmd/rope-conformance is the command-line front end.
package conformance

// Version is the version of the suite.
//
// History:
//   - 0.1.0 (2026-11-25): first suite for rope.v1, first edition.
//   - 0.2.0 (2026-12-06): rope.v1 second edition: the §17 cases (sessions
//     and object leases), which skip against servers without sessions; exact
//     and repeated member names, escaped strings, null members, the
//     fixture's ranges, sleep, Child.ping, JSON-equal echo, the window's
//     edge, repeated resume keys, empty subprotocol headers, malformed and
//     repeated tokens, the outbound queue's floor, rope.ping in the
//     in-flight limit.
const Version = "0.2.0"

// Spec names the specification the suite checks.
const (
	SpecProtocol = "rope.v1"
	SpecEdition  = "2026-12-06"
)
