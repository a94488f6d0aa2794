# mediaflow: make dev (run it all locally), make test (what CI runs).
SHELL := /bin/bash
TEMPORAL_CLI_VERSION := v1.5.1
# A Temporal cluster from binaries: the versions of docker-compose.yml's
# temporalio/server (and admin-tools) and temporalio/ui images.
TEMPORAL_SERVER_VERSION := v1.31.2
TEMPORAL_UI_VERSION := v2.53.1
# Dev-only secret used by `make dev` when ANIMUS_WEBHOOK_SECRET is unset.
# Never use it anywhere else.
DEV_SECRET := whsec_ZGV2LW9ubHktc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg==

.PHONY: watch-demo dev cluster cluster-start cluster-stop cluster-tools test build send fmt vet clean temporal-cli fuzz chaos bench bench-quick bench-cluster

## dev: install what is missing, start Temporal (UI on :8233), the worker and the server
dev: bin/temporal
	@DEV_SECRET=$(DEV_SECRET) scripts/dev.sh

## cluster: docker-compose.yml's topology without containers, on 127.0.0.1: PostgreSQL, a
## Temporal cluster on it, its UI (:8233), two workers, two servers (:8080, :8081); Ctrl-C stops it
cluster: cluster-tools
	@DEV_SECRET=$(DEV_SECRET) scripts/cluster.sh run

## cluster-start, cluster-stop: the same in the background (CI, tests); see scripts/cluster.sh
cluster-start: cluster-tools
	@DEV_SECRET=$(DEV_SECRET) scripts/cluster.sh start

cluster-stop:
	@scripts/cluster.sh stop

## cluster-tools: temporal-server, temporal-sql-tool and temporal-ui-server at the versions of docker-compose.yml
cluster-tools: bin/temporal bin/temporal-server bin/temporal-sql-tool bin/temporal-ui-server

## test: vet and all tests, integration tests against a real Temporal dev server
test: bin/temporal
	@scripts/test.sh

## send: deliver the success sample to the local server, signed with the dev secret
send:
	@ANIMUS_WEBHOOK_SECRET=$${ANIMUS_WEBHOOK_SECRET:-$(DEV_SECRET)} go run ./tools/send $(ARGS)

## watch-demo: a workflow of yours waits for an Animus job through a job watch (with make dev running)
watch-demo:
	@ANIMUS_WEBHOOK_SECRET=$${ANIMUS_WEBHOOK_SECRET:-$(DEV_SECRET)} go run ./examples/watchdemo $(ARGS)

## fuzz: each fuzz target for FUZZTIME (default 60s); make test runs their seed corpora only
FUZZTIME ?= 60s
fuzz:
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/webhook/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/animus/

## chaos: the fault and overload test on 127.0.0.1 (about 5 minutes); writes RELIABILITY.md
chaos: bin/temporal build
	go run ./tools/chaos -n 500 -overload -report RELIABILITY.md

## bench: micro-benchmarks and load runs on 127.0.0.1 (at most 25 minutes); rewrites BENCHMARKS.md and its charts
bench: bin/temporal
	scripts/bench.sh

## bench-quick: the same, tiny (about 5 minutes); the report goes to bench-results/<time>/ only
bench-quick: bin/temporal
	QUICK=1 scripts/bench.sh

## bench-cluster: the comparisons on make cluster's topology (PostgreSQL, Temporal 1.31, 2 servers, 2 workers)
bench-cluster: cluster-tools
	BENCH_MODE=cluster scripts/bench.sh

build:
	go build -o bin/ ./cmd/...

temporal-cli: bin/temporal

# The Temporal CLI (dev server + Web UI), built from the Go module proxy;
# about 4 minutes the first time.
bin/temporal:
	@echo "Installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (about 4 minutes the first time)..."
	GOBIN=$(CURDIR)/bin go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# go install names a binary after its package's directory ("server",
# "sql"): each goes through its own GOBIN, then gets its name. From the Go
# module proxy; temporal-server takes about 11 minutes on 2 cores the first
# time, the other two then under a minute.
bin/temporal-server:
	$(call go-install-as,$@,go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION))

bin/temporal-sql-tool:
	$(call go-install-as,$@,go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION))

bin/temporal-ui-server:
	$(call go-install-as,$@,github.com/temporalio/ui-server/v2/cmd/server@$(TEMPORAL_UI_VERSION))

# go-install-as TARGET,PACKAGE@VERSION
define go-install-as
	@echo "Installing $(2) as ./$(1)..."
	rm -rf $(1).gobin
	GOBIN=$(CURDIR)/$(1).gobin go install $(2)
	mv $(1).gobin/* $(1)
	rmdir $(1).gobin
endef

fmt:
	gofmt -l -w .

vet:
	go vet ./...

clean:
	rm -rf bin data
