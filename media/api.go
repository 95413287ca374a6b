package media

import "context"

// API is the entry point of a media implementation: the local engine, a
// remote ROPE client or a multi-worker layer.
type API interface {
	// CreateWorker starts a worker.
	CreateWorker(ctx context.Context, settings *WorkerSettings) (Worker, error)
	// SupportedRtpCapabilities returns every codec and header extension
	// the implementation supports (mediasoup getSupportedRtpCapabilities).
	SupportedRtpCapabilities() RtpCapabilities
}

// WorkerLogLevel is a worker's log level.
type WorkerLogLevel string

// Worker log levels.
const (
	LogLevelDebug WorkerLogLevel = "debug"
	LogLevelWarn  WorkerLogLevel = "warn"
	LogLevelError WorkerLogLevel = "error"
	LogLevelNone  WorkerLogLevel = "none"
)

// Valid reports whether l is one of the log levels.
func (l WorkerLogLevel) Valid() bool {
	switch l {
	case LogLevelDebug, LogLevelWarn, LogLevelError, LogLevelNone:
		return true
	}
	return false
}

// WorkerSettings configure a new worker (mediasoup WorkerSettings).
type WorkerSettings struct {
	// LogLevel defaults to "error".
	LogLevel WorkerLogLevel `json:"logLevel,omitempty"`
	// LogTags selects the tags whose debug and warn logs are written
	// (mediasoup's: "info", "ice", "dtls", "rtp", "srtp", "rtcp", "rtx",
	// "bwe", "score", "simulcast", "svc", "sctp", "message"; others are
	// ignored); default none.
	LogTags []string `json:"logTags,omitempty"`
	// RtcMinPort and RtcMaxPort bound the ports of transports created
	// without an explicit port or portRange. Default 10000 and 59999.
	RtcMinPort uint16 `json:"rtcMinPort,omitempty"`
	RtcMaxPort uint16 `json:"rtcMaxPort,omitempty"`
	// DtlsCertificateFile and DtlsPrivateKeyFile are PEM files for DTLS;
	// default a generated certificate.
	DtlsCertificateFile string `json:"dtlsCertificateFile,omitempty"`
	DtlsPrivateKeyFile  string `json:"dtlsPrivateKeyFile,omitempty"`
	// LibwebrtcFieldTrials are mediasoup's libwebrtc field trials
	// (default "WebRTC-Bwe-AlrLimitedBackoff/Enabled/"). Accepted and
	// kept; they change nothing here: our bandwidth estimation is not
	// libwebrtc's and has no field trials.
	LibwebrtcFieldTrials string `json:"libwebrtcFieldTrials,omitempty"`
	// DisableLiburing disables mediasoup's io_uring sending; default
	// false. Accepted; it changes nothing here: our sockets never use
	// io_uring (they read and write with recvmmsg and sendmmsg).
	DisableLiburing bool `json:"disableLiburing,omitempty"`
	// AppData defaults to an empty map.
	AppData AppData `json:"appData,omitempty"`
}

// WorkerUpdateableSettings are the settings Worker.UpdateSettings changes;
// empty fields are left unchanged.
type WorkerUpdateableSettings struct {
	LogLevel WorkerLogLevel `json:"logLevel,omitempty"`
	LogTags  []string       `json:"logTags,omitempty"`
}

// Worker is one media worker: it owns routers.
type Worker interface {
	// PID is the worker's process id (the current process for an
	// in-process worker).
	PID() int
	Closed() bool
	// Died reports whether the worker ended unexpectedly.
	Died() bool
	AppData() AppData
	SetAppData(AppData)

	// Close closes every router, then every WebRtcServer ("workerclose"),
	// and the worker.
	Close(ctx context.Context) error
	Dump(ctx context.Context) (*WorkerDump, error)
	GetResourceUsage(ctx context.Context) (*WorkerResourceUsage, error)
	UpdateSettings(ctx context.Context, settings *WorkerUpdateableSettings) error
	// CreateRouter creates a router whose RTP capabilities derive from
	// options.MediaCodecs.
	CreateRouter(ctx context.Context, options *RouterOptions) (Router, error)
	// CreateWebRtcServer opens the sockets of options.ListenInfos for
	// WebRtcTransports of this worker's routers to share.
	CreateWebRtcServer(ctx context.Context, options *WebRtcServerOptions) (WebRtcServer, error)

	// OnClose (observer "close") fires once the worker has closed.
	OnClose(func()) (off func())
	// OnDied ("died") fires when the worker ends unexpectedly.
	OnDied(func(error)) (off func())
	// OnNewRouter (observer "newrouter").
	OnNewRouter(func(Router)) (off func())
	// OnNewWebRtcServer (observer "newwebrtcserver").
	OnNewWebRtcServer(func(WebRtcServer)) (off func())
}

// WorkerResourceUsage is the worker's getrusage(2) (mediasoup
// WorkerResourceUsage; times in milliseconds).
type WorkerResourceUsage struct {
	UTime    int64 `json:"ru_utime"`
	STime    int64 `json:"ru_stime"`
	MaxRSS   int64 `json:"ru_maxrss"`
	IXRSS    int64 `json:"ru_ixrss"`
	IDRSS    int64 `json:"ru_idrss"`
	ISRSS    int64 `json:"ru_isrss"`
	MinFlt   int64 `json:"ru_minflt"`
	MajFlt   int64 `json:"ru_majflt"`
	NSwap    int64 `json:"ru_nswap"`
	InBlock  int64 `json:"ru_inblock"`
	OuBlock  int64 `json:"ru_oublock"`
	MsgSnd   int64 `json:"ru_msgsnd"`
	MsgRcv   int64 `json:"ru_msgrcv"`
	NSignals int64 `json:"ru_nsignals"`
	NVCSw    int64 `json:"ru_nvcsw"`
	NIvCSw   int64 `json:"ru_nivcsw"`
}

// WorkerDump is Worker.Dump's result.
type WorkerDump struct {
	PID                    int                    `json:"pid"`
	WebRtcServerIDs        []string               `json:"webRtcServerIds"`
	RouterIDs              []string               `json:"routerIds"`
	ChannelMessageHandlers ChannelMessageHandlers `json:"channelMessageHandlers"`
}

// ChannelMessageHandlers lists the ids registered for requests and
// notifications in a worker.
type ChannelMessageHandlers struct {
	ChannelRequestHandlers      []string `json:"channelRequestHandlers"`
	ChannelNotificationHandlers []string `json:"channelNotificationHandlers"`
}

// KeyValues is one entry of a dump's id map, as mediasoup dumps them.
type KeyValues struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// KeyValue is one entry of a dump's one-to-one id map.
type KeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
