# Strata: `make run` starts everything locally, `make test` runs the whole suite.
GO        ?= go
BIN       := bin/strata
GOBIN     := $(shell $(GO) env GOPATH)/bin
# When STRATA_CLICKHOUSE is set (host:port), run and test use that server instead of a private one.
STRATA_CLICKHOUSE ?=
CH_ADDR   := $(if $(STRATA_CLICKHOUSE),$(STRATA_CLICKHOUSE),127.0.0.1:9000)
# Browser for the web UI tests (integration/webui_test.go runs web/e2e/run.mjs).
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.PHONY: browser all build run cluster cluster-stop cluster-status test test-go clickhouse-start clickhouse-stop proto bench fmt vet clean docs web-deps test-web-unit

all: build

build:
	$(GO) build -o $(BIN) ./cmd/strata

clickhouse-start:
ifeq ($(STRATA_CLICKHOUSE),)
	scripts/clickhouse start
endif

clickhouse-stop:
	scripts/clickhouse stop

run: build clickhouse-start
	$(BIN) -target=all -clickhouse.address=$(CH_ADDR) -ingester.wal-dir=.data/wal $(ARGS)

# A local cluster on loopback (2 distributors, 3 ingesters with RF=3, 2 queriers), the topology
# the integration tests use; logs go to .data/cluster/logs/. Stop it with make cluster-stop.
cluster: build clickhouse-start
	STRATA_BIN=$(BIN) STRATA_CLICKHOUSE=$(CH_ADDR) scripts/cluster start

cluster-stop:
	scripts/cluster stop

cluster-status:
	scripts/cluster status

test: build clickhouse-start browser web-deps test-web-unit test-go

# Debian's Chromium for the web UI browser tests, installed when missing.
browser:
	@[ -x "$(CHROMIUM_PATH)" ] || { echo "installing Debian's chromium for the web UI browser tests"; \
	  s=$$([ "$$(id -u)" -eq 0 ] || echo sudo); $$s apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq chromium >/dev/null; }

# web/node_modules (Vitest, playwright-core for the browser tests), installed exactly as
# package-lock.json pins them; the stamp makes a changed lock file reinstall.
web-deps: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

test-web-unit: web-deps
	cd web && npm test

test-go:
	STRATA_TEST_CLICKHOUSE=$(CH_ADDR) STRATA_BIN=$(CURDIR)/$(BIN) $(GO) test -p 1 -count=1 -timeout 45m ./...

# The load harness (bench/cmd/loadbench): raw ClickHouse ceiling, all-in-one and RF=3 cluster
# ingest, peak RSS, CPU and profiles; writes bench/results/latest.md. BENCH_ARGS passes flags.
bench: build clickhouse-start
	$(GO) build -o bin/loadbench ./bench/cmd/loadbench
	STRATA_BIN=$(CURDIR)/$(BIN) bin/loadbench -clickhouse=$(CH_ADDR) \
		-clickhouse-pid-file=$${STRATA_CH_DIR:-.data/clickhouse}/clickhouse.pid -go=$(GO) $(BENCH_ARGS)

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

# docs/configuration.md is generated from the flag definitions (cmd/strata/app/reference.go);
# TestConfigurationReferenceIsCurrent fails when it is stale.
docs:
	$(GO) test ./cmd/strata/app -run '^TestConfigurationReferenceIsCurrent$$' -count=1 -args -update

proto:
	$(GO) install github.com/bufbuild/buf/cmd/buf@v1.75.0
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
	cd proto && PATH=$(GOBIN):$$PATH buf generate

clean:
	rm -rf bin
