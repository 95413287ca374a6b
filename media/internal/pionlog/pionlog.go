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
type Factory struct {
	Logger *slog.Logger
	// Quiet, when set and true, makes warnings and errors debug logs:
	// what pion reports then is the end its owner is bringing about
	// (pion/sctp logs a handshake cancelled by a close as an error).
	// Default nil: levels as pion gives them.
	Quiet func() bool
}

var _ logging.LoggerFactory = Factory{}

// NewLogger returns a logger tagged with scope.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{l: f.Logger.With("pion", scope), quiet: f.Quiet}
}

type logger struct {
	l     *slog.Logger
	quiet func() bool
}

// loud is level, or debug for a warning or error while quiet.
func (g logger) loud(level slog.Level) slog.Level {
	if level > slog.LevelInfo && g.quiet != nil && g.quiet() {
		return slog.LevelDebug
	}
	return level
}

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
func (g logger) Warn(msg string)                   { g.log(g.loud(slog.LevelWarn), msg) }
func (g logger) Warnf(format string, args ...any)  { g.logf(g.loud(slog.LevelWarn), format, args...) }
func (g logger) Error(msg string)                  { g.log(g.loud(slog.LevelError), msg) }
func (g logger) Errorf(format string, args ...any) { g.logf(g.loud(slog.LevelError), format, args...) }
