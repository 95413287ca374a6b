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

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=30s ./rope/

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
