// Package ortc owns RTP and SCTP negotiation as mediasoup does it: the
// capabilities the SFU supports, validation and normalisation of every
// caller-given capability and parameter set, router capabilities built
// from media codecs, the mapping of a producer's payload types and SSRCs
// into the router's space, and the parameters each consumer receives.
//
// The package is pure: no I/O, no goroutines, no mutable shared state
// besides the random source for SSRCs. Validators normalise their argument in place
// (filling mediasoup's defaults) and return a *media.ParamError naming the
// bad field; functions that derive new parameters never modify their
// inputs unless their documentation says so. Unsupported but well-formed
// input yields an error matching media.ErrUnsupported.
package ortc
