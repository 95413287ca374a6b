package main

import (
	"testing"
	"time"

	"github.com/ropehq/rope/ropeserver"
)

func TestLeaseFlags(t *testing.T) {
	def, err := parseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var o ropeserver.Options
	def.lease.apply(&o)
	if o.LeaseGrace != ropeserver.DefaultLeaseGrace || o.MaxLeaseGrace != ropeserver.DefaultMaxLeaseGrace ||
		o.AllowPersistentLeases || o.LeaseLegacyClients || o.MaxSessionObjects != ropeserver.DefaultMaxSessionObjects {
		t.Errorf("defaults give %+v", o)
	}
	env := map[string]string{"ROPE_LEASE_GRACE": "5s", "ROPE_LEASE_PERSISTENT": "true", "ROPE_MAX_SESSION_OBJECTS": "7"}
	cfg, err := parseConfig([]string{"-lease-max-grace", "2m", "-lease-legacy"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	o = ropeserver.Options{}
	cfg.lease.apply(&o)
	if o.LeaseGrace != 5*time.Second || o.MaxLeaseGrace != 2*time.Minute || !o.AllowPersistentLeases ||
		!o.LeaseLegacyClients || o.MaxSessionObjects != 7 {
		t.Errorf("flags and environment give %+v", o)
	}
	off, err := parseConfig([]string{"-lease-grace", "0", "-max-session-objects", "0"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	o = ropeserver.Options{}
	off.lease.apply(&o)
	if o.LeaseGrace >= 0 || o.MaxSessionObjects >= 0 {
		t.Errorf("-lease-grace 0 -max-session-objects 0 give grace %v, bound %d; want persistent sessions, no bound", o.LeaseGrace, o.MaxSessionObjects)
	}
	if _, err := parseConfig(nil, func(k string) string { return map[string]string{"ROPE_LEASE_GRACE": "soon"}[k] }); err == nil {
		t.Error("ROPE_LEASE_GRACE=soon accepted")
	}
}
