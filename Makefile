# One place runs every check; CI (.ci/run) and people call the same targets.
GO ?= go
# Debian's Chromium drives the browser tests; never a downloaded browser.
CHROMIUM ?= /usr/bin/chromium

# The npm packages of the JS client and of the browser tests, installed by
# npm ci when node_modules is missing or older than package-lock.json.
JS_CLIENT_DEPS := ropeclient/js/node_modules/.package-lock.json
BROWSERTEST_DEPS := media/browsertest/node_modules/.package-lock.json
# The browser test's page: mediasoup-client and our JS client, bundled.
BUNDLE := media/browsertest/dist/app.js
BUNDLE_SRC := $(shell find media/browsertest/page ropeclient/js/src -type f) media/browsertest/package.json
# The demo (demo/: its bundle is committed; the Go tests drive it with
# playwright-core) and the examples' npm packages.
EXAMPLE_DEPS := demo/node_modules/.package-lock.json examples/node-room/node_modules/.package-lock.json \
	examples/hello-node/node_modules/.package-lock.json monitor/node_modules/.package-lock.json

.PHONY: run test check deps test-go test-js fuzz bench demo monitor

run:
	$(GO) run ./cmd/ropeserver

# test is what the README and CI run: it installs what the tests need (npm
# packages, the bundle) and refuses to start without Chromium.
test: check test-go test-js

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

deps: $(CHROMIUM) $(JS_CLIENT_DEPS) $(BUNDLE) $(EXAMPLE_DEPS)

$(CHROMIUM):
	@echo "$(CHROMIUM) is missing: the browser tests need Debian's chromium (sudo apt-get install chromium)" >&2; exit 1

%/node_modules/.package-lock.json: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(BUNDLE): $(BROWSERTEST_DEPS) $(BUNDLE_SRC)
	cd media/browsertest && npm run build

# demo rebuilds the demo page's committed bundle, demo/dist/room.js, after a
# change to demo/page or ropeclient/js/src (demo's TestBundleMatchesSources
# fails until then).
demo: demo/node_modules/.package-lock.json
	cd demo && npm run build

# monitor rebuilds the monitor page's committed bundle, monitor/dist/monitor.js,
# after a change to monitor/page or ropeclient/js/src (monitor's
# TestBundleMatchesSources fails until then).
monitor: monitor/node_modules/.package-lock.json
	cd monitor && npm run build

# The Go tests run twice: without -race, as a Go user runs them first, and
# with it. A browser test that cannot run fails instead of skipping.
test-go: export ROPE_REQUIRE_BROWSER = 1
test-go: deps
	$(GO) test -timeout 15m ./...
	$(GO) test -race -timeout 20m ./...

# Chromium is a prerequisite: the JS browser test skips without it unless
# CI=true.
test-js: $(CHROMIUM) $(JS_CLIENT_DEPS) examples/node-room/node_modules/.package-lock.json
	cd ropeclient/js && npm test
	cd examples/node-room && ROPE_REQUIRE_BROWSER=1 npm test

# fuzz runs each decoder's fuzzer for a while (go test -fuzz takes one
# package and one target at a time).
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=30s ./rope/
	$(GO) test -run='^$$' -fuzz=FuzzUnmarshal -fuzztime=30s ./rope/
	$(GO) test -run='^$$' -fuzz=FuzzApply -fuzztime=30s ./ropeclient/
	$(GO) test -run='^$$' -fuzz=FuzzIngress -fuzztime=30s ./media/engine/
	$(GO) test -run='^$$' -fuzz=FuzzSCTPDemux -fuzztime=30s ./media/engine/
	$(GO) test -run='^$$' -fuzz=FuzzDemuxServer -fuzztime=30s ./media/webrtc/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRecord -fuzztime=30s ./cluster/registry/
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=30s ./ropeauth/
	$(GO) test -run='^$$' -fuzz=FuzzRopeClaim -fuzztime=30s ./ropeauth/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# bench-forward measures forwarding cost side by side (cmd/bench-forward):
# our engine in-process and in worker processes, and mediasoup when
# MEDIASOUP_DIR names a directory where `npm install mediasoup` ran.
# BENCH_FORWARD_FLAGS passes flags (go run ./cmd/bench-forward -h).
.PHONY: bench-forward
bench-forward:
	$(GO) run ./cmd/bench-forward $(BENCH_FORWARD_FLAGS)
