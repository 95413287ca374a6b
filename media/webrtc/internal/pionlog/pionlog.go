// Package pionlog adapts log/slog to pion's logging.LoggerFactory, so that
// pion/dtls and pion/sctp log through the transport's logger.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory makes pion loggers that write to an slog.Logger.
type Factory struct{ Logger *slog.Logger }

var _ logging.LoggerFactory = Factory{}

// NewLogger returns a logger tagged with scope.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{l: f.Logger.With("pion", scope)}
}

type logger struct{ l *slog.Logger }

// pion's trace level is noisier than slog's debug; map it below debug.
const levelTrace = slog.LevelDebug - 4

func (g logger) log(level slog.Level, msg string) {
	g.l.Log(context.Background(), level, msg)
}

func (g logger) logf(level slog.Level, format string, args ...any) {
	if g.l.Enabled(context.Background(), level) {
		g.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (g logger) Trace(msg string)                  { g.log(levelTrace, msg) }
func (g logger) Tracef(format string, args ...any) { g.logf(levelTrace, format, args...) }
func (g logger) Debug(msg string)                  { g.log(slog.LevelDebug, msg) }
func (g logger) Debugf(format string, args ...any) { g.logf(slog.LevelDebug, format, args...) }
func (g logger) Info(msg string)                   { g.log(slog.LevelInfo, msg) }
func (g logger) Infof(format string, args ...any)  { g.logf(slog.LevelInfo, format, args...) }
func (g logger) Warn(msg string)                   { g.log(slog.LevelWarn, msg) }
func (g logger) Warnf(format string, args ...any)  { g.logf(slog.LevelWarn, format, args...) }
func (g logger) Error(msg string)                  { g.log(slog.LevelError, msg) }
func (g logger) Errorf(format string, args ...any) { g.logf(slog.LevelError, format, args...) }
