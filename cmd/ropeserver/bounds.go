package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/ropehq/rope/ropeserver"
)

// boundsConfig holds the server's memory and fairness bounds
// (ropeserver.Options documents each).
type boundsConfig struct {
	sendQueueBytes   int64
	replayBytes      int64
	maxObjectBytes   int64
	maxStateBytes    int64
	maxInFlightTotal int
}

func (b *boundsConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	for _, f := range []struct {
		name, env, usage string
		p                *int64
		def              int64
	}{
		{"send-queue-bytes", "ROPE_SEND_QUEUE_BYTES", "bytes that may wait for one connection before it is closed as a slow consumer (4000)", &b.sendQueueBytes, ropeserver.DefaultSendQueueBytes},
		{"replay-bytes", "ROPE_REPLAY_BYTES", "bytes of notifications kept for resume", &b.replayBytes, ropeserver.DefaultReplayBytes},
		{"max-object-bytes", "ROPE_MAX_OBJECT_BYTES", "largest state (props and appData) of one object, and event data", &b.maxObjectBytes, ropeserver.DefaultMaxObjectBytes},
		{"max-state-bytes", "ROPE_MAX_STATE_BYTES", "largest state of all objects together, which bounds rope.init", &b.maxStateBytes, ropeserver.DefaultMaxStateBytes},
	} {
		v, err := strconv.ParseInt(envOr(getenv, f.env, strconv.FormatInt(f.def, 10)), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %w", f.env, err)
		}
		fs.Int64Var(f.p, f.name, v, f.usage+" (env "+f.env+")")
	}
	n, err := strconv.Atoi(envOr(getenv, "ROPE_MAX_IN_FLIGHT_TOTAL", strconv.Itoa(ropeserver.DefaultMaxInFlightTotal)))
	if err != nil {
		return fmt.Errorf("ROPE_MAX_IN_FLIGHT_TOTAL: %w", err)
	}
	fs.IntVar(&b.maxInFlightTotal, "max-in-flight-total", n, "requests running at once over all connections; more get -32005 (env ROPE_MAX_IN_FLIGHT_TOTAL)")
	return nil
}

// apply sets the bounds in opts.
func (b *boundsConfig) apply(opts *ropeserver.Options) {
	opts.SendQueueBytes = b.sendQueueBytes
	opts.ReplayBytes = b.replayBytes
	opts.MaxObjectBytes = b.maxObjectBytes
	opts.MaxStateBytes = b.maxStateBytes
	opts.MaxInFlightTotal = b.maxInFlightTotal
}
