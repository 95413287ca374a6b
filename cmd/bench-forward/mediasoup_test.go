package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeMediasoup is a stand-in for mediasoup's Node package, which is not
// installed here: it checks the calls mediasoup.mjs makes as mediasoup
// would reject bad ones, logs them, and opens no socket. It tests the
// script's plumbing (spec in, {pid, ports} out, the calls' shapes), not
// forwarding.
const fakeMediasoup = `
const fs = require('fs');
const log = (s) => fs.appendFileSync(process.env.FAKE_MEDIASOUP_LOG, s + '\n');
const need = (ok, what) => { if (!ok) throw new TypeError('fake mediasoup: ' + what); };
let nextPort = 40000, nextId = 1;
exports.createWorker = async (opts) => ({
  pid: process.pid,
  close: () => log('worker.close'),
  createRouter: async ({ mediaCodecs }) => {
    need(mediaCodecs.length === 2, 'mediaCodecs');
    return {
      rtpCapabilities: { codecs: [
        { kind: 'audio', mimeType: 'audio/opus', preferredPayloadType: 100, clockRate: 48000, channels: 2 },
        { kind: 'video', mimeType: 'video/VP8', preferredPayloadType: 101, clockRate: 90000 },
        { kind: 'video', mimeType: 'video/rtx', preferredPayloadType: 102, clockRate: 90000 },
      ] },
      createPlainTransport: async (o) => {
        need(o.listenInfo.ip === '127.0.0.1' && o.comedia === false && o.rtcpMux === true, 'plain transport options');
        const port = nextPort++;
        log('transport');
        return {
          tuple: { localPort: port },
          connect: async ({ ip, port }) => { need(ip === '127.0.0.1' && port > 0, 'connect'); log('connect ' + port); },
          produce: async ({ kind, rtpParameters }) => {
            need(['audio', 'video'].includes(kind) && rtpParameters.encodings[0].ssrc > 0, 'produce');
            log('produce ' + kind);
            return { id: 'p' + nextId++ };
          },
          consume: async ({ producerId, rtpCapabilities }) => {
            need(producerId.startsWith('p'), 'consume producerId');
            need(rtpCapabilities.codecs.every((c) => !c.mimeType.endsWith('/rtx')), 'consume caps');
            log('consume ' + producerId);
            return { id: 'c' + nextId++ };
          },
        };
      },
    };
  },
});
`

func TestMediasoupScriptPlumbing(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node")
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "node_modules", "mediasoup")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"package.json": `{"name": "mediasoup", "version": "0.0.0-fake", "main": "index.js"}`,
		"index.js":     fakeMediasoup,
	} {
		if err := os.WriteFile(filepath.Join(pkg, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_MEDIASOUP_LOG", logPath)
	cfg := &config{node: node, mediasoupDir: dir, tmp: t.TempDir()}
	if err := findMediasoup(cfg); err != nil {
		t.Fatalf("findMediasoup: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec := Topology{Rooms: 1}.spec(9999, []uint16{5001, 5002})
	f, err := startForwarder(ctx, cfg, modeMediasoup, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ports) != 4 || f.pid <= 0 {
		t.Errorf("answer: pid %d, ports %v; want a pid and 4 ports", f.pid, f.ports)
	}
	if err := f.close(); err != nil {
		t.Errorf("close: %v", err)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	calls := string(b)
	for what, want := range map[string]int{"transport\n": 8, "connect 9999\n": 4, "produce ": 8, "consume ": 24, "worker.close": 1} {
		if got := strings.Count(calls, what); got != want {
			t.Errorf("%d calls %q, want %d", got, strings.TrimSpace(what), want)
		}
	}
}

// TestChildExitsBeforeAnswering: a forwarder child that dies gives an
// error, not a hang.
func TestChildExitsBeforeAnswering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := startChild(ctx, "test", exec.Command("sh", "-c", "exit 3"), Spec{})
	// Either the spec's write or the wait for the answer finds it gone.
	if err == nil || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("err = %v, want the child's end", err)
	}
}
