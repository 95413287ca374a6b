package media

import "context"

// RtpObserverAddRemoveProducerOptions name the producer to add or remove.
type RtpObserverAddRemoveProducerOptions struct {
	ProducerID string `json:"producerId"`
}

// RtpObserver watches audio producers of a router.
type RtpObserver interface {
	ID() string
	Closed() bool
	Paused() bool
	AppData() AppData
	SetAppData(AppData)

	Close(ctx context.Context) error
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	AddProducer(ctx context.Context, options RtpObserverAddRemoveProducerOptions) error
	RemoveProducer(ctx context.Context, options RtpObserverAddRemoveProducerOptions) error

	OnClose(func()) (off func())
	OnRouterClose(func()) (off func())
	OnPause(func()) (off func())
	OnResume(func()) (off func())
	OnAddProducer(func(Producer)) (off func())
	OnRemoveProducer(func(Producer)) (off func())
}

// AudioLevelObserverOptions configure Router.CreateAudioLevelObserver.
type AudioLevelObserverOptions struct {
	// MaxEntries defaults to 1.
	MaxEntries int `json:"maxEntries,omitempty"`
	// Threshold in dBvo defaults to -80.
	Threshold *int `json:"threshold,omitempty"`
	// Interval in ms defaults to 1000.
	Interval int `json:"interval,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// AudioLevelObserverVolume is one entry of a "volumes" event.
type AudioLevelObserverVolume struct {
	Producer Producer
	// Volume in dBvo, -127..0.
	Volume int
}

// AudioLevelObserver reports the loudest producers periodically.
type AudioLevelObserver interface {
	RtpObserver
	// OnVolumes ("volumes").
	OnVolumes(func([]AudioLevelObserverVolume)) (off func())
	// OnSilence ("silence").
	OnSilence(func()) (off func())
}

// ActiveSpeakerObserverOptions configure Router.CreateActiveSpeakerObserver.
type ActiveSpeakerObserverOptions struct {
	// Interval in ms defaults to 300.
	Interval int `json:"interval,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// ActiveSpeakerObserver reports the dominant speaker.
type ActiveSpeakerObserver interface {
	RtpObserver
	// OnDominantSpeaker ("dominantspeaker").
	OnDominantSpeaker(func(Producer)) (off func())
}
