package ortc

import "github.com/ropehq/rope/media"

const maxSctpStreams = 65535

// ValidateSctpCapabilities validates an endpoint's SCTP capabilities:
// numStreams.OS and numStreams.MIS are required and must be 1..65535.
func ValidateSctpCapabilities(caps *media.SctpCapabilities) error {
	p := path("sctpCapabilities")
	if caps == nil {
		return p.errorf("missing")
	}
	return validateNumStreams(caps.NumStreams.OS, caps.NumStreams.MIS, p.dot("numStreams"))
}

func validateNumStreams(os, mis int, p path) error {
	if os < 1 || os > maxSctpStreams {
		return p.dot("OS").errorf("must be 1..%d, got %d", maxSctpStreams, os)
	}
	if mis < 1 || mis > maxSctpStreams {
		return p.dot("MIS").errorf("must be 1..%d, got %d", maxSctpStreams, mis)
	}
	return nil
}

// ValidateSctpParameters validates SCTP association parameters: port
// 1..65535, OS and MIS 1..65535, maxMessageSize positive.
func ValidateSctpParameters(params *media.SctpParameters) error {
	p := path("sctpParameters")
	if params == nil {
		return p.errorf("missing")
	}
	if params.Port < 1 || params.Port > 65535 {
		return p.dot("port").errorf("must be 1..65535, got %d", params.Port)
	}
	if err := validateNumStreams(params.OS, params.MIS, p); err != nil {
		return err
	}
	if params.MaxMessageSize <= 0 {
		return p.dot("maxMessageSize").errorf("must be positive, got %d", params.MaxMessageSize)
	}
	return nil
}

// ValidateSctpStreamParameters validates a data channel's stream
// parameters and fills the default of ordered: true, or false when
// maxPacketLifeTime or maxRetransmits is given. Both of those together,
// or either with ordered explicitly true, are rejected.
//
// Unlike mediasoup (which tests truthiness), a value of 0 counts as
// given: maxRetransmits 0 is a valid partially reliable setting.
func ValidateSctpStreamParameters(params *media.SctpStreamParameters) error {
	p := path("sctpStreamParameters")
	if params == nil {
		return p.errorf("missing")
	}
	if params.StreamID < 0 || params.StreamID > 65534 {
		return p.dot("streamId").errorf("must be 0..65534, got %d", params.StreamID)
	}
	if v := params.MaxPacketLifeTime; v != nil && *v < 0 {
		return p.dot("maxPacketLifeTime").errorf("must not be negative, got %d", *v)
	}
	if v := params.MaxRetransmits; v != nil && *v < 0 {
		return p.dot("maxRetransmits").errorf("must not be negative, got %d", *v)
	}
	partial := params.MaxPacketLifeTime != nil || params.MaxRetransmits != nil
	switch {
	case params.MaxPacketLifeTime != nil && params.MaxRetransmits != nil:
		return p.errorf("cannot provide both maxPacketLifeTime and maxRetransmits")
	case params.Ordered != nil && *params.Ordered && partial:
		return p.dot("ordered").errorf("cannot be ordered with maxPacketLifeTime or maxRetransmits")
	case params.Ordered == nil:
		params.Ordered = new(!partial)
	}
	return nil
}
