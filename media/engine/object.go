package engine

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// object holds what every media object has: id, closed flag, appData and
// the observer "close" event.
type object struct {
	id     string
	closed atomic.Bool

	// appMu guards appData.
	appMu   sync.Mutex
	appData media.AppData

	onClose   event.Listeners[struct{}]
	onAppData event.Listeners[media.AppData]
}

func (o *object) init(id string, appData media.AppData) {
	o.id = id
	if appData == nil {
		appData = media.AppData{}
	}
	o.appData = appData
}

func (o *object) ID() string   { return o.id }
func (o *object) Closed() bool { return o.closed.Load() }

func (o *object) AppData() media.AppData {
	o.appMu.Lock()
	defer o.appMu.Unlock()
	return o.appData
}

func (o *object) SetAppData(d media.AppData) {
	if d == nil {
		d = media.AppData{}
	}
	o.appMu.Lock()
	o.appData = d
	o.appMu.Unlock()
	o.onAppData.Emit(d)
}

// OnAppDataChange fires after each SetAppData (media.AppDataNotifier).
func (o *object) OnAppDataChange(fn func(media.AppData)) func() { return o.onAppData.On(fn) }

func (o *object) OnClose(fn func()) func() { return o.onClose.On(event.Func(fn)) }

// checkOpen returns an ErrClosed error naming the object if it is closed.
func (o *object) checkOpen(kind string) error {
	if o.closed.Load() {
		return media.NewError(media.ErrClosed, "%s %s closed", kind, o.id)
	}
	return nil
}

func newID() string { return uuid.NewString() }

// validID accepts ids given by callers (producer ids on pipe transports).
func validID(field, id string) error {
	if id == "" || len(id) > 256 {
		return &media.ParamError{Field: field, Reason: fmt.Sprintf("invalid id %q", id)}
	}
	return nil
}

func on(l *event.Listeners[struct{}], fn func()) func() { return l.On(event.Func(fn)) }

func emit(l *event.Listeners[struct{}]) { l.Emit(struct{}{}) }
