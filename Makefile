# pebble: build, run, test, benchmark and lint.
GO          ?= go
BIN         := bin/pebble
RUN_DIR     := $(CURDIR)/.run
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The build's identity, stamped into internal/version as semver build
# metadata ("v1.32.1+<revision>"): git describe, with any character semver
# does not allow there replaced by "-"; outside git the default "1" stays.
REVISION    := $(shell git describe --tags --always --dirty 2>/dev/null | tr -c '0-9A-Za-z.\n-' '-')
LDFLAGS     := $(if $(REVISION),-X github.com/pebble-project/pebble/internal/version.build=$(REVISION))

.PHONY: build run test deps unit compat otel pod image lint bench fuzz test-reliability clean

# A static binary (no cgo: no libc, no dynamic loader), so it runs in any
# container image, scratch included.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pebble

# Start the daemon on a fresh $PEBBLE seeded with the example layers.
# In another terminal: PEBBLE=$(RUN_DIR) bin/pebble services
run: build
	rm -rf $(RUN_DIR)
	mkdir -p $(RUN_DIR)/layers
	cp layers/*.yaml $(RUN_DIR)/layers/
	PEBBLE=$(RUN_DIR) ./$(BIN) run --verbose

# Everything CI runs: lint, unit and end-to-end tests with the race
# detector, the wire-compatibility suite against Pebble's own client, the
# OpenTelemetry log target against the real collector, and the Kubernetes
# pod under podman.
test: deps lint unit compat otel pod

# System packages some tests use (Prometheus for the metrics test,
# rsyslogd for the syslog forwarding test, podman with runc, catatonit and
# a static busybox for the Kubernetes pod test);
# installed only when missing and when running as root.
deps:
	bash scripts/install-test-deps.sh

unit:
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /tests/kube$$)

# The sidecar pod of deploy/kubernetes under podman, with its timings (-v).
pod:
	$(GO) test -race -count=1 -timeout 10m -v ./tests/kube

# The images of deploy/kubernetes (pebble-injector, pebble-workload), built
# locally with podman (ENGINE=docker for docker); nothing is pulled.
image:
	GO=$(GO) bash deploy/kubernetes/build-images.sh

compat:
	cd tests/compat && $(GO) test -race -count=1 -timeout 10m ./...

# Log forwarding to the real OpenTelemetry Collector (tests/otelcol, a module
# of its own). Its first run on a machine builds the collector from the Go
# module proxy (minutes); later runs take it from the user's cache directory.
otel:
	cd tests/otelcol && $(GO) test -race -count=1 -timeout 20m -v .

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd tests/compat && $(GO) vet ./...
	cd tests/otelcol && $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# bench/sidebyside first: ours, Canonical's Pebble v1.32.1 (built from the
# module proxy outside our module) and the floor in one run, as a table of
# medians of 3 (BENCH_ARGS="-rounds 1" and so on for a quicker look). The
# 1000-service start/stop runs one round (about 70 s, most of it Pebble's).
bench:
	$(GO) run ./bench/sidebyside -services-1000 $(BENCH_ARGS)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/...
	$(GO) test -run '^$$' -bench . -timeout 10m ./internal/changes

# The reliability and security suite of issue 17 (tests/reliability), with
# the scenarios that take over a minute (build tag "long"); the others also
# run in `make test`. Each scenario logs its figure on a "figure:" line.
test-reliability:
	$(GO) test -race -count=1 -tags long -timeout 25m -v ./tests/reliability/

# Each fuzzer for FUZZTIME (5 minutes by default), starting from its seeds
# and the committed corpus in testdata/fuzz.
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseLayer$$' -fuzztime $(FUZZTIME) ./internal/plan
	$(GO) test -run '^$$' -fuzz '^FuzzCombine$$' -fuzztime $(FUZZTIME) ./internal/plan
	$(GO) test -run '^$$' -fuzz '^FuzzRequestBodies$$' -fuzztime $(FUZZTIME) ./internal/daemon

clean:
	rm -rf bin $(RUN_DIR)
