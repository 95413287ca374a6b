package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ropehq/rope/demo"
	"github.com/ropehq/rope/mafalda"
	"github.com/ropehq/rope/mafalda/mafaldaclient"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/mediaclient"
	"github.com/ropehq/rope/ropeauth"
	"github.com/ropehq/rope/ropeclient"
	"github.com/ropehq/rope/ropeserver"
)

// demoConfig is the -demo flag.
type demoConfig struct {
	enabled bool
}

func (d *demoConfig) flags(fs *flag.FlagSet, getenv func(string) string) {
	on, _ := strconv.ParseBool(envOr(getenv, "ROPE_DEMO", "true"))
	fs.BoolVar(&d.enabled, "demo", on, "serve the video-room demo at /demo/ and its DemoRooms object \"demo\" (with -media) (env ROPE_DEMO)")
}

// demoServer serves the demo (package demo): the page at /demo/ and the
// DemoRooms object, whose rooms it makes through a ROPE connection of its
// own to this server, as any client would (mediaclient, or mafaldaclient
// with -media-mode=mafalda, where a room spans several workers). The
// rooms are thus ordinary media objects, which the browsers drive over
// ROPE; they belong to that connection, not to a browser's, so a room
// outlives whoever created it.
type demoServer struct {
	mode   string
	listen string
	token  string
	// pageToken: the page must bring the server's -token (#token=…).
	pageToken bool
	log       *slog.Logger
	rooms     *demo.Rooms

	// mu guards the fields below; newRouter holds it while it dials and
	// creates, so one worker serves every room.
	mu      sync.Mutex
	dialURL string
	closed  bool
	rc      *ropeclient.Client
	mc      *mediaclient.Client
	maf     *mafaldaclient.Client
	worker  media.Worker
}

// newDemo registers DemoRooms on srv and the page on mux; nil when the
// demo or the media objects are off.
func newDemo(srv *ropeserver.Server, mux *http.ServeMux, cfg config, auth *serverAuth, log *slog.Logger) (*demoServer, error) {
	if !cfg.demo.enabled || !cfg.media.enabled {
		return nil, nil
	}
	d := &demoServer{mode: cfg.media.mode, listen: cfg.listen, token: cfg.token, log: log, pageToken: cfg.token != ""}
	if auth != nil {
		d.token = auth.self
		d.pageToken = false
	}
	rooms, err := demo.Register(srv, &demo.Options{NewRouter: d.newRouter, Logger: log})
	if err != nil {
		return nil, err
	}
	d.rooms = rooms
	mux.Handle("/demo/", http.StripPrefix("/demo", demo.Handler()))
	mux.Handle("/demo/join", rooms.JoinHandler(d.joinOptions(cfg, auth)))
	return d, nil
}

// demoTokenTTL is how long a participant token of the demo is valid:
// the page's connection closes then (4003).
const demoTokenTTL = 4 * time.Hour

// joinOptions are those of the demo's join endpoint. A server that
// verifies signed tokens mints a participant token for the room, for
// anyone who asks: the demo is open to whoever reaches the server, and
// each browser sees its room only. A server whose only credential is
// -token asks the page for it (#token=…), as it does for the WebSocket.
func (d *demoServer) joinOptions(cfg config, auth *serverAuth) *demo.JoinOptions {
	switch {
	case auth != nil:
		participant := ropeauth.Participant
		if cfg.media.mode == modeMafalda {
			participant = ropeauth.MafaldaParticipant
		}
		return &demo.JoinOptions{Mint: func(routerID, subject string) (string, error) {
			return auth.minter.Sign(auth.audienced(participant(routerID, subject, demoTokenTTL)))
		}}
	case cfg.token != "":
		return &demo.JoinOptions{Allow: func(r *http.Request) bool {
			h := r.Header.Get("Authorization")
			return subtle.ConstantTimeCompare([]byte(h), []byte("Bearer "+cfg.token)) == 1
		}}
	}
	return nil
}

// listening records where the demo's own connection dials (the listen
// address, or loopback when it is unspecified) and logs the page's URL
// (host: the announced address, or the listen address); stdout keeps its
// one line.
func (d *demoServer) listening(port int, host string) {
	if d == nil {
		return
	}
	dial := d.listen
	if ip := net.ParseIP(dial); ip != nil && ip.IsUnspecified() {
		dial = "127.0.0.1"
		if ip.To4() == nil {
			dial = "::1"
		}
	}
	d.mu.Lock()
	d.dialURL = fmt.Sprintf("ws://%s/", net.JoinHostPort(dial, strconv.Itoa(port)))
	d.mu.Unlock()
	page := fmt.Sprintf("http://%s/demo/", net.JoinHostPort(host, strconv.Itoa(port)))
	if d.pageToken {
		d.log.Info("ropeserver: demo (add #token=<the -token value> to the URL)", "url", page)
		return
	}
	d.log.Info("ropeserver: demo", "url", page)
}

// newRouter makes a room's router: a MafaldaRouter, or a router on the
// demo's worker (created on first use).
func (d *demoServer) newRouter(ctx context.Context) (media.Router, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.dialLocked(ctx); err != nil {
		return nil, err
	}
	opts := media.RouterOptions{MediaCodecs: demo.MediaCodecs()}
	if d.maf != nil {
		return d.maf.CreateRouter(ctx, &mafalda.MafaldaRouterOptions{RouterOptions: opts})
	}
	if d.worker == nil || d.worker.Closed() {
		w, err := d.mc.CreateWorker(ctx, &media.WorkerSettings{AppData: media.AppData{"demo": true}})
		if err != nil {
			return nil, fmt.Errorf("demo worker: %w", err)
		}
		d.worker = w
	}
	return d.worker.CreateRouter(ctx, &opts)
}

// dialLocked opens the demo's connection on first use.
func (d *demoServer) dialLocked(ctx context.Context) error {
	switch {
	case d.closed:
		return demo.ErrClosed
	case d.rc != nil:
		return nil
	case d.dialURL == "":
		return errors.New("demo: server not listening yet")
	}
	rc, err := ropeclient.Dial(ctx, d.dialURL, &ropeclient.Options{Token: d.token, Logger: d.log, Dedicated: true})
	if err != nil {
		return fmt.Errorf("demo: connect to %s: %w", d.dialURL, err)
	}
	d.rc = rc
	if d.mode == modeMafalda {
		d.maf = mafaldaclient.New(rc, &mafaldaclient.Options{Logger: d.log, Media: &mediaclient.Options{Logger: d.log}})
	} else {
		d.mc = mediaclient.New(rc, &mediaclient.Options{Logger: d.log})
	}
	return nil
}

// close closes the rooms, then the demo's connection (its worker stays
// for the media server to close). It must run before the ROPE server
// closes.
func (d *demoServer) close(ctx context.Context) error {
	if d == nil {
		return nil
	}
	err := d.rooms.Close(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.rc != nil {
		d.rc.Close()
	}
	return err
}
