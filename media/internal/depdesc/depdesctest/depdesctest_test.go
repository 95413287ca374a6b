package depdesctest

import (
	"testing"

	"github.com/ropehq/rope/media/internal/depdesc"
)

// TestSVCRoundTrip: each structure survives Marshal and Parse, decode
// target s*3+t has layers s, t, and a key unit's frames are switch
// points of every decode target of their spatial layer and above.
func TestSVCRoundTrip(t *testing.T) {
	for _, ksvc := range []bool{false, true} {
		for n := 1; n <= 3; n++ {
			s := SVC(n, ksvc)
			var b [depdesc.MaxSize]byte
			m, err := depdesc.Marshal(b[:], &depdesc.Descriptor{StartOfFrame: true, HasStructure: true}, s)
			if err != nil {
				t.Fatalf("L%dT3 ksvc %v: %v", n, ksvc, err)
			}
			var p depdesc.Parser
			var d depdesc.Descriptor
			if err := p.Parse(b[:m], &d); err != nil {
				t.Fatalf("L%dT3 ksvc %v: %v", n, ksvc, err)
			}
			got := p.Structure()
			for dt := range got.DecodeTargets {
				if int(got.TargetSpatialID[dt]) != dt/3 || int(got.TargetTemporalID[dt]) != dt%3 {
					t.Fatalf("L%dT3 ksvc %v: decode target %d is S%dT%d", n, ksvc, dt, got.TargetSpatialID[dt], got.TargetTemporalID[dt])
				}
			}
			for sid := range n {
				tp := &got.Templates[Template(sid, 0, true)]
				for dt := sid * 3; dt < n*3; dt++ {
					if tp.DTI(dt) != depdesc.Switch {
						t.Fatalf("L%dT3 ksvc %v: key S%d DTI %v for decode target %d", n, ksvc, sid, tp.DTI(dt), dt)
					}
				}
			}
		}
	}
}
