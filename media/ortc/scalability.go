package ortc

// ScalabilityMode is a parsed scalabilityMode such as "L3T3_KEY".
type ScalabilityMode struct {
	SpatialLayers  int
	TemporalLayers int
	// KSVC is true for "_KEY" modes (K-SVC).
	KSVC bool
}

// ParseScalabilityMode parses "L<s>T<t>" or "S<s>T<t>" with 1..99 layers
// and an optional "_KEY" suffix; like mediasoup it reads only the prefix,
// and anything unparsable means one spatial and one temporal layer.
func ParseScalabilityMode(s string) ScalabilityMode {
	def := ScalabilityMode{SpatialLayers: 1, TemporalLayers: 1}
	if len(s) < 4 || (s[0] != 'L' && s[0] != 'S') {
		return def
	}
	spatial, rest, ok := layerCount(s[1:])
	if !ok || len(rest) == 0 || rest[0] != 'T' {
		return def
	}
	temporal, rest, ok := layerCount(rest[1:])
	if !ok {
		return def
	}
	return ScalabilityMode{spatial, temporal, len(rest) >= 4 && rest[:4] == "_KEY"}
}

// layerCount reads 1..99 written without a leading zero.
func layerCount(s string) (n int, rest string, ok bool) {
	if len(s) == 0 || s[0] < '1' || s[0] > '9' {
		return 0, s, false
	}
	n, s = int(s[0]-'0'), s[1:]
	if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
		n, s = n*10+int(s[0]-'0'), s[1:]
	}
	return n, s, true
}
