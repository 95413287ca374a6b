package mediaclient_test

import (
	"testing"

	"github.com/ropehq/rope/internal/speccheck"
)

// TestSpecCatalogueMatchesServer: the catalogue of spec/media-v1.md §4 is
// exactly what the server announces in rope.init's types.
func TestSpecCatalogueMatchesServer(t *testing.T) {
	_, rc := startServer(t, nil).dial(t, nil)
	speccheck.MatchesServer(t, "../../spec/media-v1.md", 14, rc.Type)
}
