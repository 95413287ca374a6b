package media

// SctpCapabilities are the SCTP capabilities of an endpoint.
type SctpCapabilities struct {
	NumStreams NumSctpStreams `json:"numStreams"`
}

// NumSctpStreams is the number of SCTP streams an endpoint can open (OS)
// and accept (MIS); both range 1..65535.
type NumSctpStreams struct {
	OS  int `json:"OS"`
	MIS int `json:"MIS"`
}

// SctpParameters are the SCTP association parameters of a transport.
type SctpParameters struct {
	// Port is always 5000 in mediasoup.
	Port           int `json:"port"`
	OS             int `json:"OS"`
	MIS            int `json:"MIS"`
	MaxMessageSize int `json:"maxMessageSize"`
}

// SctpStreamParameters describe one SCTP stream (a data channel) of a
// data producer or data consumer. Optional fields are pointers because 0
// is meaningful for both MaxPacketLifeTime and MaxRetransmits.
type SctpStreamParameters struct {
	StreamID int `json:"streamId"`
	// Ordered defaults to true, or false when MaxPacketLifeTime or
	// MaxRetransmits is given.
	Ordered           *bool `json:"ordered,omitempty"`
	MaxPacketLifeTime *int  `json:"maxPacketLifeTime,omitempty"`
	MaxRetransmits    *int  `json:"maxRetransmits,omitempty"`
}

// IsOrdered reports whether the stream is ordered (true when unset).
func (p SctpStreamParameters) IsOrdered() bool { return p.Ordered == nil || *p.Ordered }
