package mafaldaclient_test

import (
	"testing"

	"github.com/ropehq/rope/internal/speccheck"
)

// TestSpecCatalogueMatchesServer: the catalogue of spec/mafalda-v1.md §4
// is exactly what the server announces in rope.init's types.
func TestSpecCatalogueMatchesServer(t *testing.T) {
	c := startServer(t, nil).dial(t)
	speccheck.MatchesServer(t, "../../spec/mafalda-v1.md", 2, c.ROPE().Type)
}
