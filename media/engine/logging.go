package engine

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"

	"github.com/ropehq/rope/media"
)

// logFilter is a worker's logLevel and logTags, read by its loggers on
// every record so that UpdateSettings takes effect at once.
type logFilter struct {
	// level is the lowest slog level logged; levelNone logs nothing.
	level atomic.Int64
	tags  atomic.Pointer[[]string]
}

// levelNone is above every level: logLevel "none".
const levelNone = slog.LevelError + 100

func (f *logFilter) set(level media.WorkerLogLevel, tags []string) {
	l := levelNone
	switch level {
	case media.LogLevelDebug:
		l = slog.LevelDebug
	case media.LogLevelWarn:
		l = slog.LevelWarn
	case media.LogLevelError:
		l = slog.LevelError
	}
	f.level.Store(int64(l))
	t := slices.Clone(tags)
	f.tags.Store(&t)
}

func (f *logFilter) tagged(tag string) bool {
	t := f.tags.Load()
	return t != nil && slices.Contains(*t, tag)
}

// logHandler filters a worker's records as mediasoup's worker does
// (Logger.hpp): a record passes when its level is at least the worker's
// logLevel ("debug", "warn", "error"; "none": nothing) and, when it has a
// tag below error level, when logTags names the tag (MS_DEBUG_TAG,
// MS_WARN_TAG). A record's tag is its "tag" attribute, or the scope of a
// pion logger (media/internal/pionlog's "pion" attribute: "dtls", "ice",
// "sctp"); the tags are mediasoup's: info, ice, dtls, rtp, srtp, rtcp,
// rtx, bwe, score, simulcast, svc, sctp, message.
type logHandler struct {
	f    *logFilter
	next slog.Handler
	tag  string
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return int64(l) >= h.f.level.Load() && h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	tag := h.tag
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "tag" {
			tag = a.Value.String()
			return false
		}
		return true
	})
	if tag != "" && r.Level < slog.LevelError && !h.f.tagged(tag) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	tag := h.tag
	for _, a := range attrs {
		if a.Key == "tag" || a.Key == "pion" {
			tag = a.Value.String()
		}
	}
	return &logHandler{f: h.f, next: h.next.WithAttrs(attrs), tag: tag}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{f: h.f, next: h.next.WithGroup(name), tag: h.tag}
}

// defaultLogHandler writes every level as text on stderr, as mediasoup's
// worker logs; the workers' filters choose what reaches it.
func defaultLogHandler() slog.Handler {
	return slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
}

// initLog makes the worker's logger from its settings.
func (w *worker) initLog(base slog.Handler) {
	w.logf.set(w.settings.LogLevel, w.settings.LogTags)
	w.log = slog.New(&logHandler{f: &w.logf, next: base}).With("worker", w.id)
}

// logger is the worker's logger (its logLevel and logTags apply).
func (w *worker) logger() *slog.Logger { return w.log }
