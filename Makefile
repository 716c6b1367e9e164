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
NAMESPACE ?= train-prometheus
OC        ?= oc
DOCKER    ?= docker
CONFIG    ?=
TEST_TIMEOUT ?= 15m
FUZZTIME  ?= 10s

.PHONY: all build run demo screenshot test test-short test-prometheus3 lint check-format format vet unused bench fuzz fuzz-ci soak accuracy anomaly-bench bench-ingest docker clean \
	docker_build docker_run oc_deploy oc_delete_all deploy-schemas

all: lint build test

build: ## Build the binary into ./train-prometheus.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/train-prometheus

run: build ## Run on :9201 with the embedded example config and local-disk defaults.
	./$(BIN) $(ARGS)

demo: build ## Prometheus + a demo target + train-prometheus with synthetic history: forecasts within a minute, URLs printed, Ctrl-C stops all (ARGS='-headless -duration 60s'; installs Prometheus if absent).
	$(GO) build -o .cache/demo ./tools/demo
	.cache/demo -adapter ./$(BIN) $(ARGS)

screenshot: ## Regenerate docs/status-page.png, the README's screenshot (needs chromium).
	UPDATE_SCREENSHOT=1 $(GO) test -count=1 -run 'TestStatusPageInBrowser|TestScreenshotCommitted' ./adapter/

# deploy/ is a Go module of its own (the manifest tests and their kustomize,
# kubeconform and Helm libraries); the targets below run in both modules.
DEPLOY_MOD := deploy

test: check-format vet ## gofmt and go vet, then every test of both modules with the race detector (the end-to-end test needs Prometheus: .ci/install-prometheus.sh).
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	cd $(DEPLOY_MOD) && $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

test-short: ## Unit tests only, no external processes.
	$(GO) test -short -count=1 ./...
	cd $(DEPLOY_MOD) && $(GO) test -short -count=1 ./...

PROM3_VERSION ?= v0.316.0
PROM3_BIN     ?= $(CURDIR)/.cache/prometheus3/prometheus

$(PROM3_BIN):
	GOBIN=$(dir $(PROM3_BIN)) $(GO) install -ldflags "-X github.com/prometheus/common/version.Version=3.16.0" \
		github.com/prometheus/prometheus/cmd/prometheus@$(PROM3_VERSION)

test-prometheus3: $(PROM3_BIN) ## Opt-in: the Prometheus tests against Prometheus 3 built from source (10-25 min cold).
	PROMETHEUS_BINARY=$(PROM3_BIN) $(GO) test -race -count=1 -run 'TestEndToEnd|TestPrometheusHarness|TestRemoteReadBothWays|TestPrometheus3RemoteWrite2' ./cmd/train-prometheus/

GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT         ?= $(CURDIR)/.cache/golangci-lint/$(GOLANGCI_LINT_VERSION)/golangci-lint

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

lint: check-format vet $(GOLANGCI_LINT) ## gofmt, go vet and golangci-lint (.golangci.yml; installs it into .cache/ the first time, ~5 min) in both modules; CI runs it.
	$(GOLANGCI_LINT) run --timeout 15m ./...
	cd $(DEPLOY_MOD) && $(GOLANGCI_LINT) run --config ../.golangci.yml --timeout 15m ./...

check-format:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd $(DEPLOY_MOD) && $(GO) vet ./...

format:
	gofmt -w $$(git ls-files '*.go')

unused: ## go mod tidy must change nothing (in both modules).
	$(GO) mod tidy && git diff --exit-code -- go.mod go.sum
	cd $(DEPLOY_MOD) && $(GO) mod tidy && git diff --exit-code -- go.mod go.sum

bench: ## Go benchmarks of the hot paths (see BENCHMARKS.md).
	$(GO) test -run=NONE -bench=. -benchmem ./...

fuzz: ## Run each fuzzer briefly.
	$(GO) test -run=NONE -fuzz=FuzzDecodeWriteRequest -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=^FuzzHandler$$ -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzHandlerV2 -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzUnmarshalV1 -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzUnmarshalV2 -fuzztime=$(FUZZTIME) ./adapter/receive/
	$(GO) test -run=NONE -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./adapter/config/
	$(GO) test -run=NONE -fuzz=FuzzReadWide -fuzztime=$(FUZZTIME) ./adapter/offline/
	$(GO) test -run=NONE -fuzz=FuzzReadRows -fuzztime=$(FUZZTIME) ./adapter/offline/
	$(GO) test -run=NONE -fuzz=^FuzzDecodeStreamed$$ -fuzztime=$(FUZZTIME) ./adapter/remoteread/
	$(GO) test -run=NONE -fuzz=FuzzDecodeStreamedFrame -fuzztime=$(FUZZTIME) ./adapter/remoteread/
	$(GO) test -run=NONE -fuzz=FuzzDecodeSamples -fuzztime=$(FUZZTIME) ./adapter/remoteread/
	$(GO) test -run=NONE -fuzz=FuzzDecodeReadRequest -fuzztime=$(FUZZTIME) ./adapter/remoteread/
	$(GO) test -run=NONE -fuzz=FuzzReader -fuzztime=$(FUZZTIME) ./storage/snapshot/
	$(GO) test -run=NONE -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./internal/valenc/
	$(GO) test -run=NONE -fuzz=FuzzRestore -fuzztime=$(FUZZTIME) ./models/prophet/

M4_HOURLY ?= $(CURDIR)/../shared/datasets/m4-hourly/Hourly-train.csv

accuracy: build ## Accuracy of every registered model on M4 hourly (last 48 points held out; see BENCHMARKS.md).
	@echo "Models detect the seasonal period (as the server does):"
	./$(BIN) evaluate --input $(M4_HOURLY) --holdout 48 --period 24
	@echo; echo "Models given the period (--seasonal-period 24):"
	./$(BIN) evaluate --input $(M4_HOURLY) --holdout 48 --period 24 --seasonal-period 24

anomaly-bench: ## Anomaly-detection benchmark: labelled synthetic + M4 hourly training series replayed as detect does; NAB score, recall per kind, false alarms (ARGS='-model fourier -opt Threshold=1.5'; see BENCHMARKS.md).
	$(GO) run ./tools/anomalybench -m4 $(M4_HOURLY) $(ARGS)

# fuzz-ci budgets runs by count, not time: with a duration, Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" when the
# deadline races a busy worker (golang/go#75804, fixed in Go 1.27).
FUZZ_CI_RUNS ?= 30000x

fuzz-ci: ## Run every Fuzz* target of every package for FUZZ_CI_RUNS executions each (CI; finds new fuzzers by itself).
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(cd $$dir && $(GO) test -list '^Fuzz' . | grep '^Fuzz'); do \
	    echo "fuzz: $$dir $$f ($(FUZZ_CI_RUNS))"; \
	    (cd $$dir && $(GO) test -run=NONE -fuzz="^$$f\$$" -fuzztime=$(FUZZ_CI_RUNS) .); \
	  done; \
	done

DURATION ?= 2m
RATE     ?= 50000
soak: ## Soak: loadgen at RATE samples/s for DURATION while Prometheus restarts and SIGHUPs arrive (not part of test).
	DURATION=$(DURATION) RATE=$(RATE) tools/soak/soak.sh

bench-ingest: ## Remote-write ingest over HTTP: adapter vs Prometheus vs VictoriaMetrics, same pre-encoded load, interleaved trials (installs the receivers if absent; VictoriaMetrics into .cache/, ~2-3 min once; ARGS='-series 5000 -trials 5 -only adapter,vm'; see BENCHMARKS.md; not part of test).
	$(GO) run ./tools/ingestbench $(ARGS)

docker: ## Build the container image (needs a Docker engine).
	$(DOCKER) build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(TAG) .

# The Python ancestor's targets, same names (no Docker engine or oc ran where
# these were written: they are checked by reading, and the kustomization
# oc_deploy applies is rendered by TestOcDeployKustomization in deploy/deploytest).
docker_build: docker ## Build $(IMAGE):$(TAG), as the ancestor's docker_build did.

docker_run: ## Run $(IMAGE):$(TAG) on :9201; CONFIG=file mounts your configuration instead of the example.
	$(DOCKER) run -ti --rm -p 9201:9201 -v train-prometheus-data:/train-prometheus \
		$(if $(CONFIG),-v $(abspath $(CONFIG)):/etc/train-prometheus/train-prometheus.yml:ro) $(IMAGE):$(TAG)

oc_deploy: ## Deploy to OpenShift: deploy/kubernetes/overlays/openshift into $(NAMESPACE) with image $(IMAGE):$(TAG).
	$(OC) get namespace $(NAMESPACE) >/dev/null 2>&1 || $(OC) new-project $(NAMESPACE)
	mkdir -p .cache/oc_deploy
	deploy/kubernetes/kustomization-for.sh ../../deploy/kubernetes/overlays/openshift $(NAMESPACE) $(IMAGE) $(TAG) \
		> .cache/oc_deploy/kustomization.yaml
	$(OC) apply -k .cache/oc_deploy

oc_delete_all: ## Remove what oc_deploy created (the PVCs too).
	$(OC) delete -n $(NAMESPACE) statefulset,service,configmap,serviceaccount,poddisruptionbudget,servicemonitor,pvc \
		-l app.kubernetes.io/name=train-prometheus

deploy-schemas: ## Regenerate deploy/schemas from Kubernetes' OpenAPI spec and prometheus-operator's CRDs.
	$(GO) run deploy/schemas/generate.go

clean:
	rm -f $(BIN)
