package media

import (
	"runtime/debug"
	"strings"
	"sync"
)

// MediasoupVersion is the mediasoup v3 release whose API and behaviour
// this module follows.
const MediasoupVersion = "3.14.16"

// modulePath is this module's path, looked up in the build info.
const modulePath = "github.com/ropehq/rope"

// Version is what mediasoup's version export reads for this build:
// MediasoupVersion with this module's version as semver build metadata,
// "3.14.16+rope.v0.4.0" ("+rope.devel" when the build has no module
// version), so that checks of mediasoup's version compare the version
// followed and the build is still named.
var Version = sync.OnceValue(func() string {
	return MediasoupVersion + "+rope." + buildMetadata(moduleVersion())
})

func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if info.Main.Path == modulePath {
		return info.Main.Version
	}
	for _, d := range info.Deps {
		if d.Path == modulePath {
			return d.Version
		}
	}
	return ""
}

// buildMetadata keeps what semver allows in build metadata
// ([0-9A-Za-z-.]); an empty or "(devel)" version is "devel".
func buildMetadata(v string) string {
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-', r == '.':
			return r
		}
		return '-'
	}, v)
}

// Versioned is implemented by APIs that tell their version (mediasoup's
// version export): the local engine and worker processes give Version(),
// a remote client its server's ("" from a server that does not say).
type Versioned interface {
	Version() string
}

// NewWorkerNotifier is implemented by APIs that announce new workers
// (mediasoup's observer "newworker"): the local engine and worker
// processes announce the workers they create, a remote client those the
// server shows it.
type NewWorkerNotifier interface {
	OnNewWorker(func(Worker)) (off func())
}
