package main

import (
	"context"
	"log/slog"

	"github.com/ropehq/rope/cluster/horizontal"
	"github.com/ropehq/rope/cluster/registry"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeclient"
)

// startEndpoint makes this server the cluster's endpoint when
// -cluster-endpoint says so: it joins the registry as an observer and
// returns the horizontal media API over the cluster's servers, on which
// the media objects (and a Mafalda) are then served; nil (and a no-op
// stop) otherwise. The endpoint presents -token to the servers, or else
// an operator token signed with -token-secret (which the servers then
// share).
func startEndpoint(ctx context.Context, cfg config, auth *serverAuth, log *slog.Logger) (media.API, func(), error) {
	c := cfg.cluster
	if !c.endpoint {
		return nil, func() {}, nil
	}
	m, err := joinCluster(ctx, cfg, &registry.Options{
		Observer: true, ServerID: c.serverID, Interval: c.heartbeat, Logger: log,
	}, log)
	if err != nil {
		return nil, nil, err
	}
	close(m.done) // an observer publishes no loads
	token := cfg.token
	if auth != nil {
		token = auth.members
	}
	api := horizontal.New(m.reg, &horizontal.Options{
		Logger: log,
		Media: &mediaclient.Options{Logger: log,
			ROPE: &ropeclient.Options{Logger: log, Token: token, Dedicated: true}},
	})
	log.Info("ropeserver: the cluster's endpoint", "servers", len(m.reg.Servers()))
	return api, func() { _ = api.Close(); m.close() }, nil
}
