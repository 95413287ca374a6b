package main

import (
	"testing"

	"github.com/ropehq/rope/ropeserver"
)

func TestBoundsFromFlagsAndEnvironment(t *testing.T) {
	env := map[string]string{"ROPE_REPLAY_BYTES": "1048576", "ROPE_MAX_IN_FLIGHT_TOTAL": "100"}
	cfg, err := parseConfig([]string{"-max-state-bytes", "2097152", "-send-queue-bytes", "8388608"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var opts ropeserver.Options
	cfg.bounds.apply(&opts)
	want := ropeserver.Options{SendQueueBytes: 8 << 20, ReplayBytes: 1 << 20, MaxObjectBytes: ropeserver.DefaultMaxObjectBytes,
		MaxStateBytes: 2 << 20, MaxInFlightTotal: 100}
	if opts.SendQueueBytes != want.SendQueueBytes || opts.ReplayBytes != want.ReplayBytes || opts.MaxObjectBytes != want.MaxObjectBytes ||
		opts.MaxStateBytes != want.MaxStateBytes || opts.MaxInFlightTotal != want.MaxInFlightTotal {
		t.Errorf("bounds %+v", cfg.bounds)
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"ROPE_MAX_STATE_BYTES": "lots"}[k] }); err == nil {
		t.Error("a bad ROPE_MAX_STATE_BYTES was accepted")
	}
}
