# One place runs every check; CI (.ci/run) and people call the same targets.
GO ?= go

.PHONY: run test check test-go test-js fuzz bench

run:
	$(GO) run ./cmd/ropeserver

# test is what the README and CI run.
test: check test-go test-js

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test-go:
	$(GO) test -race -timeout 15m ./...

test-js:
	@if [ -f ropeclient/js/package.json ]; then cd ropeclient/js && npm test; fi

# fuzz runs each decoder's fuzzer for a while (go test -fuzz takes one
# package and one target at a time).
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=30s ./rope/
	$(GO) test -run='^$$' -fuzz=FuzzApply -fuzztime=30s ./ropeclient/
	$(GO) test -run='^$$' -fuzz=FuzzIngress -fuzztime=30s ./media/engine/
	$(GO) test -run='^$$' -fuzz=FuzzDemuxServer -fuzztime=30s ./media/webrtc/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
