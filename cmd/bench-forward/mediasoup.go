package main

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// mediasoupJS drives a mediasoup worker for the mediasoup mode.
//
//go:embed mediasoup.mjs
var mediasoupJS []byte

// findMediasoup reports why mediasoup cannot run, or nil when node and
// the mediasoup package under cfg.mediasoupDir are there.
func findMediasoup(cfg *config) error {
	if cfg.mediasoupDir == "" {
		hint := ""
		if os.Getenv("MEDIASOUP_WORKER_BIN") != "" {
			hint = " (MEDIASOUP_WORKER_BIN is set, but the worker is driven through mediasoup's Node package)"
		}
		return fmt.Errorf("%w: no -mediasoup-dir (a directory where `npm install mediasoup` ran)%s", ErrNoMediasoup, hint)
	}
	pkg := filepath.Join(cfg.mediasoupDir, "node_modules", "mediasoup", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return fmt.Errorf("%w: %w", ErrNoMediasoup, err)
	}
	if _, err := exec.LookPath(cfg.node); err != nil {
		return fmt.Errorf("%w: %w", ErrNoMediasoup, err)
	}
	return nil
}

// mediasoupScript writes mediasoup.mjs into cfg's temporary directory
// once and returns its path.
func mediasoupScript(cfg *config) (string, error) {
	p := filepath.Join(cfg.tmp, "mediasoup.mjs")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.WriteFile(p, mediasoupJS, 0o600); err != nil {
		return "", fmt.Errorf("mediasoup: %w", err)
	}
	return p, nil
}
