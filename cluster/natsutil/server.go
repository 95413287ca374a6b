package natsutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady is returned when an embedded server does not become ready
// for connections in time.
var ErrNotReady = errors.New("natsutil: server not ready for connections")

// DefaultReadyTimeout is how long StartServer waits for the server to
// accept connections when ServerOptions.ReadyTimeout is zero.
const DefaultReadyTimeout = 10 * time.Second

// ServerOptions configure an embedded NATS server. The zero value (or nil)
// runs a lone server on a random loopback port, without authentication.
type ServerOptions struct {
	// Name is the server's name in the NATS cluster. Default: chosen by
	// nats-server (its id).
	Name string
	// Host is the address clients connect to. Default 127.0.0.1.
	Host string
	// Port is the client port. Default 0: a free port, see ClientURL.
	Port int
	// Token, when set, is required of every client (nats://TOKEN@host:port).
	// Default none: any client that reaches Host may connect, which is why
	// Host defaults to loopback.
	Token string
	// User and Password, when set, are required of every client instead of
	// a token (nats://USER:PASSWORD@host:port).
	User, Password string
	// Cluster, when set, makes the server a node of a NATS cluster: it
	// listens for routes and connects to Cluster.Routes. Default none.
	Cluster *ClusterOptions
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// Logger receives the server's notices, warnings and errors. Default:
	// none (the server logs nothing).
	Logger *slog.Logger
}

// ClusterOptions make an embedded server a node of a NATS cluster.
type ClusterOptions struct {
	// Name is the cluster's name; every node must use the same one.
	// Default "rope".
	Name string
	// Host is the address other nodes' routes connect to. Default: the
	// client Host.
	Host string
	// Port is the route port. Default 0: a free port, see RouteURL.
	Port int
	// Routes are the route URLs (nats-route://host:port) of other nodes
	// to connect to. A node may list none and wait for others to connect.
	Routes []string
}

// Server is a NATS server running in this process.
type Server struct {
	ns *server.Server
}

// StartServer starts a NATS server in this process and returns once it
// accepts connections. Close stops it.
func StartServer(ctx context.Context, o *ServerOptions) (*Server, error) {
	if o == nil {
		o = &ServerOptions{}
	}
	opts, err := serverOptions(o)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsutil: new server: %w", err)
	}
	logger := &slogAdapter{fatal: make(chan string, 1)}
	if o.Logger != nil {
		logger.log = o.Logger.With("component", "nats-server")
	}
	ns.SetLoggerV2(logger, false, false, false)
	ns.Start()
	s := &Server{ns: ns}
	if err := s.waitReady(ctx, o.ReadyTimeout, logger.fatal); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w (client %s)", err, net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	}
	return s, nil
}

// waitReady waits until the server accepts connections, fails (a port in
// use), timeout (default DefaultReadyTimeout) passes or ctx ends.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration, fatal <-chan string) error {
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	deadline := time.Now().Add(timeout)
	for !s.ns.ReadyForConnections(20 * time.Millisecond) {
		select {
		case msg := <-fatal:
			return fmt.Errorf("%w: %s", ErrNotReady, msg)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", ErrNotReady, timeout)
		}
	}
	return nil
}

// serverOptions turns o into nats-server options: no signal handlers, no
// logs unless a Logger is set, port 0 meaning a random port.
func serverOptions(o *ServerOptions) (*server.Options, error) {
	opts := &server.Options{
		ServerName:    o.Name,
		Host:          o.Host,
		Port:          randomIfZero(o.Port),
		Authorization: o.Token,
		Username:      o.User,
		Password:      o.Password,
		NoSigs:        true,
		NoLog:         o.Logger == nil,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if c := o.Cluster; c != nil {
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: c.Host, Port: randomIfZero(c.Port)}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "rope"
		}
		if opts.Cluster.Host == "" {
			opts.Cluster.Host = opts.Host
		}
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("natsutil: route %q: want nats-route://host:port", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	return opts, nil
}

func randomIfZero(port int) int {
	if port == 0 {
		return server.RANDOM_PORT
	}
	return port
}

// ClientURL is the URL clients connect to (nats://host:port), with the
// port actually bound.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// RouteURL is the URL other nodes list in ClusterOptions.Routes to join
// this one (nats-route://host:port); empty without ClusterOptions.
func (s *Server) RouteURL() string {
	a := s.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + a.String()
}

// Peers returns how many other nodes of the cluster this one has routes
// to (a node keeps a pool of several route connections to each).
func (s *Server) Peers() int {
	rz, err := s.ns.Routez(nil)
	if err != nil {
		return 0
	}
	peers := map[string]struct{}{}
	for _, r := range rz.Routes {
		peers[r.RemoteID] = struct{}{}
	}
	return len(peers)
}

// Close shuts the server down, closing every client and route, and waits
// until it has stopped. It is idempotent.
func (s *Server) Close() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// slogAdapter logs nats-server's messages to a slog.Logger (none when
// nil), and hands its fatal errors (which end a standalone nats-server)
// to StartServer.
type slogAdapter struct {
	log   *slog.Logger
	fatal chan string
}

func (a *slogAdapter) logf(level slog.Level, format string, v ...any) {
	if a.log != nil {
		a.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (a *slogAdapter) Noticef(format string, v ...any) { a.logf(slog.LevelInfo, format, v...) }
func (a *slogAdapter) Warnf(format string, v ...any)   { a.logf(slog.LevelWarn, format, v...) }
func (a *slogAdapter) Errorf(format string, v ...any)  { a.logf(slog.LevelError, format, v...) }
func (a *slogAdapter) Debugf(format string, v ...any)  { a.logf(slog.LevelDebug, format, v...) }
func (a *slogAdapter) Tracef(format string, v ...any)  { a.logf(slog.LevelDebug, format, v...) }

func (a *slogAdapter) Fatalf(format string, v ...any) {
	a.logf(slog.LevelError, format, v...)
	select {
	case a.fatal <- fmt.Sprintf(format, v...):
	default:
	}
}
