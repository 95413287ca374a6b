package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/ropehq/rope/ropeserver"
)

// leaseConfig is the sessions and object leases part of the configuration
// (spec/rope-v1.md §17).
type leaseConfig struct {
	grace      time.Duration
	maxGrace   time.Duration
	persistent bool
	legacy     bool
	maxObjects int
}

func (l *leaseConfig) flags(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	dur := func(env string, def time.Duration) time.Duration {
		v := envOr(getenv, env, def.String())
		d, perr := time.ParseDuration(v)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %w", env, perr)
		}
		return d
	}
	fs.DurationVar(&l.grace, "lease-grace", dur("ROPE_LEASE_GRACE", ropeserver.DefaultLeaseGrace),
		"how long the objects a client created outlive its session's last connection, unless it asks for another grace; 0 or negative: they outlive it (env ROPE_LEASE_GRACE)")
	fs.DurationVar(&l.maxGrace, "lease-max-grace", dur("ROPE_LEASE_MAX_GRACE", ropeserver.DefaultMaxLeaseGrace),
		"longest grace a client may ask for (env ROPE_LEASE_MAX_GRACE)")
	persistent, _ := strconv.ParseBool(envOr(getenv, "ROPE_LEASE_PERSISTENT", "false"))
	fs.BoolVar(&l.persistent, "lease-persistent", persistent,
		"let clients ask for persistent sessions, whose objects outlive them until closed (env ROPE_LEASE_PERSISTENT)")
	legacy, _ := strconv.ParseBool(envOr(getenv, "ROPE_LEASE_LEGACY", "false"))
	fs.BoolVar(&l.legacy, "lease-legacy", legacy,
		"lease the objects of clients that take no part in sessions too: they close a grace after the connection (env ROPE_LEASE_LEGACY)")
	n, aerr := strconv.Atoi(envOr(getenv, "ROPE_MAX_SESSION_OBJECTS", strconv.Itoa(ropeserver.DefaultMaxSessionObjects)))
	if aerr != nil {
		return fmt.Errorf("ROPE_MAX_SESSION_OBJECTS: %w", aerr)
	}
	fs.IntVar(&l.maxObjects, "max-session-objects", n,
		"most objects one session (or legacy connection) may hold; 0 or negative: no limit (env ROPE_MAX_SESSION_OBJECTS)")
	return err
}

// apply sets the lease options: a grace of 0 or less makes sessions
// persistent by default, a bound of 0 or less lifts the object bound.
func (l *leaseConfig) apply(o *ropeserver.Options) {
	o.LeaseGrace = l.grace
	if l.grace <= 0 {
		o.LeaseGrace = -1
	}
	o.MaxLeaseGrace = l.maxGrace
	o.AllowPersistentLeases = l.persistent
	o.LeaseLegacyClients = l.legacy
	o.MaxSessionObjects = l.maxObjects
	if l.maxObjects <= 0 {
		o.MaxSessionObjects = -1
	}
}
