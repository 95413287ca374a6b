package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/rope"
	"github.com/ropehq/rope/ropeserver"
)

// RootID is the ROPE id of the DemoRooms object.
const RootID = "demo"

// TypeDemoRooms is the ROPE type of the DemoRooms object.
const TypeDemoRooms = "DemoRooms"

// Defaults of Options.
const (
	DefaultMaxRooms    = 16
	DefaultIdleTimeout = 30 * time.Second
	// MaxRoomName is the longest room name, in bytes.
	MaxRoomName = 64
)

// Errors of Register and join.
var (
	ErrNoRouterFunc = errors.New("demo: Options.NewRouter is required")
	ErrClosed       = errors.New("demo: rooms closed")
)

// Options configure Register. Nil means defaults, but NewRouter is
// required.
type Options struct {
	// NewRouter creates the router of a new room; its ROPE id must be its
	// ID() (as with media/mediaclient, and as media/mediaserver serves
	// routers). The rooms close the routers they made. Required.
	NewRouter func(ctx context.Context) (media.Router, error)
	// MaxRooms bounds the rooms open at once; a join that would create
	// one more answers -32003 InvalidState. Default DefaultMaxRooms.
	MaxRooms int
	// IdleTimeout is how long a room stays open without any transport
	// (before the first join creates one, and after the last one closes).
	// Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Logger receives failures no caller sees (a room's router that fails
	// to close). Default slog.Default().
	Logger *slog.Logger
}

// JoinParams are the params of DemoRooms.join.
type JoinParams struct {
	Room string `json:"room"`
}

// JoinResult is the result of DemoRooms.join and of the join endpoint
// (JoinHandler): the ROPE ids of the room's router and of its
// ActiveSpeakerObserver and, from the endpoint of a server that verifies
// tokens, a participant token for the room.
type JoinResult struct {
	RouterID                string `json:"routerId"`
	ActiveSpeakerObserverID string `json:"activeSpeakerObserverId"`
	// Token is a participant token for the room (JoinOptions.Mint).
	Token string `json:"token,omitempty"`
}

// RoomInfo is one entry of the DemoRooms "rooms" property.
type RoomInfo struct {
	Name     string `json:"name"`
	RouterID string `json:"routerId"`
}

// Rooms is the DemoRooms object: rooms by name, each a router and an
// ActiveSpeakerObserver made by Options.NewRouter and kept while the room
// has transports.
type Rooms struct {
	opts Options
	log  *slog.Logger
	obj  *ropeserver.Object
	// wg counts the goroutines closing idle rooms.
	wg sync.WaitGroup

	// mu guards rooms and closed.
	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
}

// room is one room; ready closes once router and speaker are set (or err).
type room struct {
	name    string
	ready   chan struct{}
	err     error
	router  media.Router
	speaker media.ActiveSpeakerObserver
	// The fields below are guarded by Rooms.mu.
	transports int
	idle       *time.Timer
	gone       bool
}

// Register creates the DemoRooms object (id RootID) on rs.
func Register(rs *ropeserver.Server, opts *Options) (*Rooms, error) {
	r := &Rooms{rooms: map[string]*room{}}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.NewRouter == nil {
		return nil, ErrNoRouterFunc
	}
	if r.opts.MaxRooms <= 0 {
		r.opts.MaxRooms = DefaultMaxRooms
	}
	if r.opts.IdleTimeout <= 0 {
		r.opts.IdleTimeout = DefaultIdleTimeout
	}
	r.log = r.opts.Logger
	if r.log == nil {
		r.log = slog.Default()
	}
	err := rs.RegisterType(ropeserver.Type{
		Name:       TypeDemoRooms,
		Properties: []string{"rooms", "maxRooms"},
		Methods:    map[string]ropeserver.MethodFunc{"join": r.join},
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	r.obj, err = rs.Create(TypeDemoRooms, &ropeserver.ObjectOptions{ID: RootID,
		Props: map[string]any{"rooms": []RoomInfo{}, "maxRooms": r.opts.MaxRooms}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return r, nil
}

// Close closes every room's router; later joins fail. The DemoRooms
// object stays until the ROPE server closes, so that a server shutting
// down does not announce its close to clients that will resume with its
// next run. It is idempotent.
func (r *Rooms) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	rooms := make([]*room, 0, len(r.rooms))
	for _, rm := range r.rooms {
		rooms = append(rooms, rm)
		r.stopIdleLocked(rm)
	}
	r.rooms = map[string]*room{}
	r.mu.Unlock()
	var errs []error
	for _, rm := range rooms {
		<-rm.ready
		if rm.router != nil {
			errs = append(errs, rm.router.Close(ctx))
		}
	}
	r.wg.Wait()
	return errors.Join(errs...)
}

// join finds the room by name or creates it.
func (r *Rooms) join(ctx context.Context, call *ropeserver.Call) (any, error) {
	var p JoinParams
	if err := call.Bind(&p); err != nil {
		return nil, err
	}
	return r.Join(ctx, p.Room)
}

// Join finds the room by name or creates it, and returns the ids of its
// router and observer. Its errors are ROPE errors: -32602 for a bad name,
// -32003 when no room more may open or the room could not be made.
func (r *Rooms) Join(ctx context.Context, name string) (JoinResult, error) {
	if err := checkName(name); err != nil {
		return JoinResult{}, rope.NewError(rope.CodeInvalidParams, "join: %v", err)
	}
	rm, fresh, err := r.lookup(name)
	if err != nil {
		return JoinResult{}, err
	}
	if fresh {
		r.create(ctx, rm)
	}
	select {
	case <-rm.ready:
	case <-ctx.Done():
		return JoinResult{}, ctx.Err()
	}
	if rm.err != nil {
		return JoinResult{}, rope.NewError(rope.CodeInvalidState, "join: room %q: %v", name, rm.err)
	}
	return JoinResult{RouterID: rm.router.ID(), ActiveSpeakerObserverID: rm.speaker.ID()}, nil
}

// checkName accepts 1 to MaxRoomName bytes of printable UTF-8.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("room: empty")
	case len(name) > MaxRoomName:
		return fmt.Errorf("room: longer than %d bytes", MaxRoomName)
	case !utf8.ValidString(name):
		return errors.New("room: not UTF-8")
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return fmt.Errorf("room: unprintable character %q", c)
		}
	}
	return nil
}

// lookup returns the room with that name, or a new entry (fresh) that the
// caller must create.
func (r *Rooms) lookup(name string) (rm *room, fresh bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false, rope.NewError(rope.CodeInvalidState, "join: %v", ErrClosed)
	}
	if rm, ok := r.rooms[name]; ok {
		return rm, false, nil
	}
	if len(r.rooms) >= r.opts.MaxRooms {
		return nil, false, rope.NewError(rope.CodeInvalidState, "join: at most %d rooms may be open", r.opts.MaxRooms)
	}
	rm = &room{name: name, ready: make(chan struct{})}
	r.rooms[name] = rm
	return rm, true, nil
}

// create makes the room's router and observer, then marks it ready; a
// failure removes the room again.
func (r *Rooms) create(ctx context.Context, rm *room) {
	defer close(rm.ready)
	ctx = context.WithoutCancel(ctx) // the room outlives the call that made it
	router, err := r.opts.NewRouter(ctx)
	if err == nil {
		rm.speaker, err = router.CreateActiveSpeakerObserver(ctx, &media.ActiveSpeakerObserverOptions{Interval: 300})
		if err != nil {
			_ = router.Close(ctx)
		}
	}
	if err != nil {
		rm.err = err
		r.mu.Lock()
		delete(r.rooms, rm.name)
		r.mu.Unlock()
		return
	}
	rm.router = router
	router.OnNewTransport(func(t media.Transport) { r.transportOpened(rm, t) })
	router.OnClose(func() { r.forget(rm) })
	r.mu.Lock()
	if rm.transports == 0 && !r.closed {
		r.idleLocked(rm)
	}
	r.mu.Unlock()
	r.publish()
}

// transportOpened counts a transport of the room until it closes, and
// adds its audio producers to the room's ActiveSpeakerObserver (so that
// participants, whose tokens allow no call on the observer, need not).
func (r *Rooms) transportOpened(rm *room, t media.Transport) {
	r.mu.Lock()
	rm.transports++
	r.stopIdleLocked(rm)
	r.mu.Unlock()
	t.OnNewProducer(func(p media.Producer) {
		if p.Kind() == media.KindAudio {
			r.observe(rm, p)
		}
	})
	t.OnClose(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		rm.transports--
		if rm.transports == 0 && !r.closed && !rm.gone {
			r.idleLocked(rm)
		}
	})
}

// observe adds an audio producer to the room's observer, off the event's
// goroutine (the call may go over the network).
func (r *Rooms) observe(rm *room, p media.Producer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := rm.speaker.AddProducer(ctx, media.RtpObserverAddRemoveProducerOptions{ProducerID: p.ID()})
		if err != nil && !p.Closed() {
			r.log.Warn("demo: adding a producer to the speaker observer", "room", rm.name, "producer", p.ID(), "err", err)
		}
	}()
}

// stopIdleLocked stops the room's idle timer, if any.
func (r *Rooms) stopIdleLocked(rm *room) {
	if rm.idle != nil && rm.idle.Stop() {
		r.wg.Done() // its function will not run
	}
	rm.idle = nil
}

// idleLocked closes the room after IdleTimeout unless a transport comes.
func (r *Rooms) idleLocked(rm *room) {
	r.stopIdleLocked(rm)
	r.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(r.opts.IdleTimeout, func() {
		defer r.wg.Done()
		r.mu.Lock()
		stale := rm.idle != t || rm.transports > 0 || r.closed
		if !stale {
			rm.idle = nil
		}
		r.mu.Unlock()
		if stale {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rm.router.Close(ctx); err != nil {
			r.log.Warn("demo: closing an idle room", "room", rm.name, "err", err)
		}
		r.forget(rm)
	})
	rm.idle = t
}

// forget removes a closed room.
func (r *Rooms) forget(rm *room) {
	r.mu.Lock()
	rm.gone = true
	r.stopIdleLocked(rm)
	if r.rooms[rm.name] == rm {
		delete(r.rooms, rm.name)
	}
	r.mu.Unlock()
	r.publish()
}

// publish sets the "rooms" property.
func (r *Rooms) publish() {
	r.mu.Lock()
	list := make([]RoomInfo, 0, len(r.rooms))
	for _, rm := range r.rooms {
		if rm.router != nil && !rm.gone {
			list = append(list, RoomInfo{Name: rm.name, RouterID: rm.router.ID()})
		}
	}
	r.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if err := r.obj.SetProp("rooms", list); err != nil && !errors.Is(err, ropeserver.ErrClosed) {
		r.log.Warn("demo: publishing rooms", "err", err)
	}
}
