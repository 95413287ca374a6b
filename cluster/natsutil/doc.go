// Package natsutil owns this project's NATS plumbing: a NATS server run
// inside the process (StartServer: on a loopback port by default, with
// routes so that other servers can form a NATS cluster with it), and a
// client connection that reconnects forever (Connect). It knows nothing
// of what is sent over NATS; cluster/registry does.
package natsutil
