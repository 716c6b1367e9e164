# train-prometheus

GO        ?= go
BIN       ?= train-prometheus
PKG       := github.com/train-prometheus/train-prometheus
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w \
	-X github.com/prometheus/common/version.Version=$(VERSION) \
	-X github.com/prometheus/common/version.Revision=$(REVISION) \
	-X github.com/prometheus/common/version.Branch=$(BRANCH)
IMAGE     ?= train-prometheus
TAG       ?= $(VERSION)
ARGS      ?=
TEST_TIMEOUT ?= 15m
FUZZTIME  ?= 10s

.PHONY: all build run test test-short test-prometheus3 lint format vet unused bench fuzz fuzz-ci soak docker clean

all: lint build test

build: ## Build the binary into ./train-prometheus.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/train-prometheus

run: build ## Run on :9201 with the embedded example config and local-disk defaults.
	./$(BIN) $(ARGS)

test: lint ## Lint, then every test with the race detector (the end-to-end test needs Prometheus: .ci/install-prometheus.sh).
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

test-short: ## Unit tests only, no external processes.
	$(GO) test -short -count=1 ./...

PROM3_VERSION ?= v0.316.0
PROM3_BIN     ?= $(CURDIR)/.cache/prometheus3/prometheus

$(PROM3_BIN):
	GOBIN=$(dir $(PROM3_BIN)) $(GO) install -ldflags "-X github.com/prometheus/common/version.Version=3.16.0" \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROM3_VERSION)

test-prometheus3: $(PROM3_BIN) ## Opt-in: the Prometheus tests against Prometheus 3 built from source (10-25 min cold).
	PROMETHEUS_BINARY=$(PROM3_BIN) $(GO) test -race -count=1 -run 'TestEndToEnd|TestPrometheusHarness' ./cmd/train-prometheus/

lint: vet ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

format:
	gofmt -w $$(git ls-files '*.go')

unused: ## go mod tidy must change nothing.
	$(GO) mod tidy && git diff --exit-code -- go.mod go.sum

bench: ## Go benchmarks of the hot paths (see BENCHMARKS.md).
	$(GO) test -run=NONE -bench=. -benchmem ./...

fuzz: ## Run each fuzzer briefly.
	$(GO) test -run=NONE -fuzz=FuzzDecodeWriteRequest -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzHandler -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./adapter/config/

fuzz-ci: ## Run every Fuzz* target of every package for FUZZTIME each (CI; finds new fuzzers by itself).
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(cd $$dir && $(GO) test -list '^Fuzz' . | grep '^Fuzz'); do \
	    echo "fuzz: $$dir $$f ($(FUZZTIME))"; \
	    (cd $$dir && $(GO) test -run=NONE -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) .); \
	  done; \
	done

DURATION ?= 2m
RATE     ?= 50000
soak: ## Soak: loadgen at RATE samples/s for DURATION while Prometheus restarts and SIGHUPs arrive (not part of test).
	DURATION=$(DURATION) RATE=$(RATE) tools/soak/soak.sh

docker: ## Build the container image (needs a Docker engine).
	docker build -t $(IMAGE):$(TAG) .

clean:
	rm -f $(BIN)
