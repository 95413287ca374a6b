package engine

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ropehq/rope/media"
	"github.com/ropehq/rope/media/internal/event"
)

// rtpObserver watches audio producers through their ssrc-audio-level
// header extension. Every interval it turns the levels received into
// "volumes"/"silence" (AudioLevelObserver) or "dominantspeaker"
// (ActiveSpeakerObserver, with mediasoup's dominant speaker
// identification: dominant_speaker.go).
type rtpObserver struct {
	object
	router     *router
	speaker    bool
	interval   time.Duration
	maxEntries int
	threshold  int
	paused     atomic.Bool

	// mu guards levels, silence and speakers.
	mu      sync.Mutex
	levels  map[*producer]*levelSum
	silence bool
	// speakers is the dominant speaker identification of an
	// ActiveSpeakerObserver (nil for an AudioLevelObserver).
	speakers *dominantSpeakers[*producer]

	stop chan struct{}
	wg   sync.WaitGroup

	onRouterClose    event.Listeners[struct{}]
	onPause          event.Listeners[struct{}]
	onResume         event.Listeners[struct{}]
	onAddProducer    event.Listeners[media.Producer]
	onRemoveProducer event.Listeners[media.Producer]
	onVolumes        event.Listeners[[]media.AudioLevelObserverVolume]
	onSilence        event.Listeners[struct{}]
	onDominant       event.Listeners[media.Producer]
}

type levelSum struct{ sum, count int }

type audioLevelObserver struct{ *rtpObserver }

type activeSpeakerObserver struct{ *rtpObserver }

var (
	_ media.AudioLevelObserver    = audioLevelObserver{}
	_ media.ActiveSpeakerObserver = activeSpeakerObserver{}
)

func (r *router) CreateAudioLevelObserver(ctx context.Context, o *media.AudioLevelObserverOptions) (media.AudioLevelObserver, error) {
	opts := media.AudioLevelObserverOptions{MaxEntries: 1, Interval: 1000}
	if o != nil {
		opts.AppData, opts.Threshold = o.AppData, o.Threshold
		if o.MaxEntries != 0 {
			opts.MaxEntries = o.MaxEntries
		}
		if o.Interval != 0 {
			opts.Interval = o.Interval
		}
	}
	threshold := -80
	if opts.Threshold != nil {
		threshold = *opts.Threshold
	}
	switch {
	case opts.MaxEntries < 1:
		return nil, &media.ParamError{Field: "maxEntries", Reason: "must be >= 1"}
	case threshold < -127 || threshold > 0:
		return nil, &media.ParamError{Field: "threshold", Reason: "must be -127..0"}
	case opts.Interval < 250:
		return nil, &media.ParamError{Field: "interval", Reason: "must be >= 250"}
	}
	ob, err := r.newObserver(ctx, false, opts.Interval, opts.MaxEntries, threshold, opts.AppData)
	if err != nil {
		return nil, err
	}
	return audioLevelObserver{ob}, nil
}

func (r *router) CreateActiveSpeakerObserver(ctx context.Context, o *media.ActiveSpeakerObserverOptions) (media.ActiveSpeakerObserver, error) {
	opts := media.ActiveSpeakerObserverOptions{Interval: 300}
	if o != nil {
		opts.AppData = o.AppData
		if o.Interval != 0 {
			opts.Interval = o.Interval
		}
	}
	// As mediasoup's worker: the interval is clamped to 100..5000 ms.
	opts.Interval = min(max(opts.Interval, 100), 5000)
	ob, err := r.newObserver(ctx, true, opts.Interval, 1, -127, opts.AppData)
	if err != nil {
		return nil, err
	}
	return activeSpeakerObserver{ob}, nil
}

func (r *router) newObserver(ctx context.Context, speaker bool, intervalMs, maxEntries, threshold int, appData media.AppData) (*rtpObserver, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ob := &rtpObserver{router: r, speaker: speaker, interval: time.Duration(intervalMs) * time.Millisecond,
		maxEntries: maxEntries, threshold: threshold, levels: map[*producer]*levelSum{}, stop: make(chan struct{})}
	if speaker {
		ob.speakers = newDominantSpeakers[*producer]()
	}
	ob.init(newID(), appData)
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return nil, media.NewError(media.ErrClosed, "router %s closed", r.id)
	}
	r.observers[ob.id] = ob
	r.mu.Unlock()
	ob.wg.Add(1)
	go ob.loop(r.worker)
	var outer media.RtpObserver = audioLevelObserver{ob}
	if speaker {
		outer = activeSpeakerObserver{ob}
	}
	r.onNewRtpObserver.Emit(outer)
	return ob, nil
}

func (o audioLevelObserver) OnVolumes(fn func([]media.AudioLevelObserverVolume)) func() {
	return o.onVolumes.On(fn)
}
func (o audioLevelObserver) OnSilence(fn func()) func() { return on(&o.onSilence, fn) }
func (o activeSpeakerObserver) OnDominantSpeaker(fn func(media.Producer)) func() {
	return o.onDominant.On(fn)
}

func (o *rtpObserver) Paused() bool                                 { return o.paused.Load() }
func (o *rtpObserver) OnRouterClose(fn func()) func()               { return on(&o.onRouterClose, fn) }
func (o *rtpObserver) OnPause(fn func()) func()                     { return on(&o.onPause, fn) }
func (o *rtpObserver) OnResume(fn func()) func()                    { return on(&o.onResume, fn) }
func (o *rtpObserver) OnAddProducer(fn func(media.Producer)) func() { return o.onAddProducer.On(fn) }
func (o *rtpObserver) OnRemoveProducer(fn func(media.Producer)) func() {
	return o.onRemoveProducer.On(fn)
}

func (o *rtpObserver) Close(ctx context.Context) error {
	o.close(closeBySelf)
	return nil
}

func (o *rtpObserver) close(reason closeReason) {
	if o.closed.Swap(true) {
		return
	}
	close(o.stop)
	o.wg.Wait()
	o.mu.Lock()
	producers := mapKeys(o.levels)
	o.levels = map[*producer]*levelSum{}
	o.mu.Unlock()
	for _, p := range producers {
		p.removeObserver(o)
	}
	if reason == closeBySelf {
		o.router.mu.Lock()
		delete(o.router.observers, o.id)
		o.router.mu.Unlock()
	} else {
		emit(&o.onRouterClose)
	}
	emit(&o.onClose)
	o.onClose.Clear()
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (o *rtpObserver) Pause(ctx context.Context) error  { return o.setPaused(true) }
func (o *rtpObserver) Resume(ctx context.Context) error { return o.setPaused(false) }

func (o *rtpObserver) setPaused(paused bool) error {
	if err := o.checkOpen("rtp observer"); err != nil {
		return err
	}
	if o.paused.Swap(paused) == paused {
		return nil
	}
	o.mu.Lock()
	// An ActiveSpeakerObserver keeps its speakers' levels, as
	// mediasoup's (it only stops and restarts its timer).
	o.resetLocked()
	o.mu.Unlock()
	if paused {
		emit(&o.onPause)
	} else {
		emit(&o.onResume)
	}
	return nil
}

func (o *rtpObserver) resetLocked() {
	for _, l := range o.levels {
		*l = levelSum{}
	}
}

func (o *rtpObserver) AddProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	if err := o.checkOpen("rtp observer"); err != nil {
		return err
	}
	p, err := o.router.producer(opts.ProducerID)
	if err != nil {
		return err
	}
	if p.kind != media.KindAudio {
		return &media.ParamError{Field: "producerId", Reason: "not an audio producer"}
	}
	o.mu.Lock()
	_, had := o.levels[p]
	if had && o.speakers != nil {
		o.mu.Unlock()
		// As mediasoup's ActiveSpeakerObserver ("Producer already in
		// map"); its AudioLevelObserver takes it again.
		return media.NewError(media.ErrDuplicateID, "producer %s already in the ActiveSpeakerObserver", p.id)
	}
	if !had {
		o.levels[p] = &levelSum{}
		if o.speakers != nil {
			o.speakers.add(p, nowMs(), p.paused.Load())
		}
	}
	o.mu.Unlock()
	if !had {
		p.addObserver(o)
		o.onAddProducer.Emit(p)
	}
	return nil
}

func (o *rtpObserver) RemoveProducer(ctx context.Context, opts media.RtpObserverAddRemoveProducerOptions) error {
	if err := o.checkOpen("rtp observer"); err != nil {
		return err
	}
	p, err := o.router.producer(opts.ProducerID)
	if err != nil {
		return err
	}
	if o.forget(p) {
		p.removeObserver(o)
		o.onRemoveProducer.Emit(p)
	}
	return nil
}

// forget drops p (removed or closed); it reports whether p was observed.
// When p was the dominant speaker, another is elected at once, as
// mediasoup does.
func (o *rtpObserver) forget(p *producer) bool {
	o.mu.Lock()
	_, had := o.levels[p]
	delete(o.levels, p)
	var next *producer
	var changed bool
	if o.speakers != nil && had {
		next, changed = o.speakers.remove(p, nowMs())
	}
	o.mu.Unlock()
	if changed && !o.closed.Load() {
		o.onDominant.Emit(next)
	}
	return had
}

// producerPaused marks a paused or resumed producer, which an
// ActiveSpeakerObserver does not elect.
func (o *rtpObserver) producerPaused(p *producer, paused bool) {
	if o.speakers == nil {
		return
	}
	o.mu.Lock()
	o.speakers.setPaused(p, paused)
	o.mu.Unlock()
}

// nowMs is the monotonic clock of the dominant speaker identification.
func nowMs() int64 { return nanotime()/1e6 + 1 }

// addLevel records one packet's audio level (0..127, i.e. -dBov). It runs
// on the producer's ingress path.
func (o *rtpObserver) addLevel(p *producer, level int) {
	if o.paused.Load() {
		return
	}
	o.mu.Lock()
	if o.speakers != nil {
		o.speakers.level(p, 127-level, nowMs())
	} else if l := o.levels[p]; l != nil {
		l.sum += level
		l.count++
	}
	o.mu.Unlock()
}

func (o *rtpObserver) loop(w *worker) {
	defer o.wg.Done()
	defer w.recoverPanic("rtp observer")
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-tick.C:
			switch {
			case o.paused.Load():
			case o.speakers != nil:
				o.elect()
			default:
				o.report()
			}
		}
	}
}

// elect runs one dominant speaker election.
func (o *rtpObserver) elect() {
	o.mu.Lock()
	p, changed := o.speakers.update(nowMs())
	o.mu.Unlock()
	if changed {
		o.onDominant.Emit(p)
	}
}

// report turns the interval's levels into "volumes" or "silence".
func (o *rtpObserver) report() {
	type entry struct {
		p    *producer
		dBov int
	}
	o.mu.Lock()
	var loud []entry
	for p, l := range o.levels {
		if l.count > 0 {
			if dBov := -int(math.Round(float64(l.sum) / float64(l.count))); dBov >= o.threshold {
				loud = append(loud, entry{p, dBov})
			}
		}
		*l = levelSum{}
	}
	slices.SortFunc(loud, func(a, b entry) int { return b.dBov - a.dBov })
	var silenced bool
	switch {
	case len(loud) == 0 && !o.silence:
		o.silence, silenced = true, true
	case len(loud) > 0:
		o.silence = false
	}
	o.mu.Unlock()
	switch {
	case silenced:
		emit(&o.onSilence)
	case len(loud) > 0:
		vols := make([]media.AudioLevelObserverVolume, 0, min(len(loud), o.maxEntries))
		for _, e := range loud[:min(len(loud), o.maxEntries)] {
			vols = append(vols, media.AudioLevelObserverVolume{Producer: e.p, Volume: e.dBov})
		}
		o.onVolumes.Emit(vols)
	}
}
