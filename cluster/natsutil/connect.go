package natsutil

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNoURL is returned by Connect when no server URL is given.
var ErrNoURL = errors.New("natsutil: no NATS server URL")

// Defaults of ConnectOptions.
const (
	DefaultReconnectWait    = 250 * time.Millisecond
	DefaultReconnectBufSize = 1 << 20
)

// ConnectOptions configure a client connection to NATS. Credentials are
// at most one of CredsFile, User and Password, or Token (or those in the
// URLs' user info).
type ConnectOptions struct {
	// URLs are the servers to connect to (nats://host:port); the client
	// also learns the other nodes of their cluster from them. Required.
	URLs []string
	// Name names the connection in the servers' monitoring.
	Name string
	// CredsFile is a NATS credentials file (a user JWT and its nkey seed),
	// as issued for an account by nsc or a NATS operator.
	CredsFile string
	// User and Password authenticate with a user name and password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// ReconnectWait is the pause between attempts to reach the same
	// server; attempts never stop. Default DefaultReconnectWait.
	ReconnectWait time.Duration
	// ReconnectBufSize bounds what is kept to send while disconnected
	// (bytes); beyond it, a publish fails. Default DefaultReconnectBufSize.
	ReconnectBufSize int
	// Logger receives disconnections, reconnections and asynchronous
	// errors. Default: none.
	Logger *slog.Logger
}

// Connect opens a connection to NATS that never gives up: it retries the
// first connection too (Connect returns at once, connected or not) and
// reconnects forever, keeping up to ReconnectBufSize bytes of publishes
// while disconnected. The caller closes it (Conn.Close or Drain).
func Connect(o *ConnectOptions) (*nats.Conn, error) {
	if o == nil || len(o.URLs) == 0 {
		return nil, ErrNoURL
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(orDefault(o.ReconnectWait, DefaultReconnectWait)),
		nats.ReconnectBufSize(orDefault(o.ReconnectBufSize, DefaultReconnectBufSize)),
		nats.IgnoreAuthErrorAbort(),
	}
	switch {
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	}
	if log := o.Logger; log != nil {
		opts = append(opts, logHandlers(log)...)
	}
	nc, err := nats.Connect(strings.Join(o.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("natsutil: connect %s: %w", strings.Join(o.URLs, ","), err)
	}
	return nc, nil
}

func logHandlers(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.ConnectHandler(func(nc *nats.Conn) { log.Info("nats: connected", "url", nc.ConnectedUrlRedacted()) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats: reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats: error", "subject", subject, "err", err)
		}),
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
