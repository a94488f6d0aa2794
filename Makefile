# mediaflow: make dev (run it all locally), make test (what CI runs).
SHELL := /bin/bash
TEMPORAL_CLI_VERSION := v1.5.1
# A Temporal cluster from binaries: the versions of docker-compose.yml's
# temporalio/server (and admin-tools) and temporalio/ui images.
TEMPORAL_SERVER_VERSION := v1.31.2
TEMPORAL_UI_VERSION := v2.53.1
# The Temporal binaries are stripped (no symbol table, no DWARF): the same
# code, linked in about a third less time.
TEMPORAL_LDFLAGS := -s -w
# Dev-only secret used by `make dev` when ANIMUS_WEBHOOK_SECRET is unset.
# Never use it anywhere else.
DEV_SECRET := whsec_ZGV2LW9ubHktc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg==
export DEV_SECRET TEMPORAL_CLI_VERSION

# tools/stack runs make dev and make cluster: built into bin/ (the first
# time it compiles the Temporal SDK, which mediaflow's build then reuses),
# then run in the shell's place, so that Ctrl-C and a SIGTERM to make reach
# it, and it stops everything in order.
STACK = go build -o bin/ ./tools/stack && exec bin/stack

# Where make send points the event's media_url: the clip that make dev's
# devpeer serves. Empty (make send MEDIA_URL=) sends the body's own.
MEDIA_URL ?= http://$(or $(DEVPEER_ADDR),127.0.0.1:8090)/media/launch-keynote.mp4

.PHONY: watch-demo dev cluster cluster-start cluster-stop cluster-status cluster-restart cluster-tools cluster-check cluster-rollout-check test test-cluster build send jobs fmt vet clean clean-data temporal-cli fuzz chaos chaos-cluster bench bench-quick bench-cluster readme-check

## dev: build what is missing (the Temporal CLI once, unless one is on the PATH), start Temporal (UI on
## :8233), devpeer (sample media, notification receiver), the worker and the server; logs in
## data/*.log; Ctrl-C stops it all
dev:
	@export STACK_T0=$$(date +%s); [ -x bin/stack ] || echo "[0:00] Building make dev's supervisor (tools/stack) into bin/..."; $(STACK) dev

## cluster: docker-compose.yml's topology without containers, on 127.0.0.1: PostgreSQL, a
## Temporal cluster on it, its UI (:8233), two workers, two servers (:8080, :8081); Ctrl-C stops it
cluster: cluster-tools
	@$(STACK) cluster run

## cluster-start, cluster-stop, cluster-status: the same in the background (CI, tests); cluster-restart
## NAME=worker-1 [ARGS="--kill --down 5"] restarts one process; see docs/production.md
cluster-start: cluster-tools
	@$(STACK) cluster start

cluster-stop:
	@$(STACK) cluster stop

cluster-status:
	@$(STACK) cluster status

cluster-restart:
	@$(STACK) cluster restart $(NAME) $(ARGS)

## cluster-tools: temporal-server, temporal-sql-tool and temporal-ui-server at the versions of docker-compose.yml
cluster-tools: temporal-cli bin/temporal-server bin/temporal-sql-tool bin/temporal-ui-server

## test: vet and all tests, integration tests against a real Temporal dev server
test: temporal-cli
	@scripts/test.sh

## cluster-check: a short fault test on a cluster of its own (CI): 40 events, temporal-server killed once
cluster-check: temporal-cli bin/temporal-server bin/temporal-sql-tool
	go run ./tools/chaos -cluster -n 40 -spread 20s -faults temporal-server -timeout 10m

## cluster-rollout-check: Worker Versioning on a cluster of its own (CI): two builds, an event held
## on the old one across the switch, a 50% ramp, a rollback (e2e TestTwoBuildsUnderRunningTraffic)
cluster-rollout-check: temporal-cli bin/temporal-server bin/temporal-sql-tool
	@export CLUSTER_UI=off; $(STACK) cluster start
	@E2E_TEMPORAL_ADDRESS=127.0.0.1:7233 go test -count=1 -run '^TestTwoBuildsUnderRunningTraffic$$' ./e2e; \
		rc=$$?; bin/stack cluster stop; exit $$rc

## test-cluster: the e2e tests against the running make cluster (make cluster-start first)
test-cluster: temporal-cli
	E2E_TEMPORAL_ADDRESS=127.0.0.1:7233 go test -race -count=1 ./e2e

## send: deliver the success sample to the local server, signed with the dev secret, its media_url
## pointing at make dev's devpeer (MEDIA_URL=… to change it, MEDIA_URL= to keep the body's)
send:
	@ANIMUS_WEBHOOK_SECRET=$${ANIMUS_WEBHOOK_SECRET:-$(DEV_SECRET)} go run ./tools/send $(if $(MEDIA_URL),--media-url $(MEDIA_URL)) $(ARGS)

## jobs: the rows of the local database (data/mediaflow.db), without the sqlite3 shell
jobs:
	@go run ./tools/jobs $(ARGS)

## watch-demo: a workflow of yours waits for an Animus job through a job watch (with make dev running)
watch-demo:
	@ANIMUS_WEBHOOK_SECRET=$${ANIMUS_WEBHOOK_SECRET:-$(DEV_SECRET)} go run ./examples/watchdemo $(ARGS)

## fuzz: each fuzz target for FUZZTIME (default 60s); make test runs their seed corpora only
FUZZTIME ?= 60s
fuzz:
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/webhook/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/animus/

## chaos: the fault and overload test on the dev server, 127.0.0.1 (about 5 minutes); updates RELIABILITY.md
chaos: temporal-cli
	go run ./tools/chaos -n 500 -overload -report RELIABILITY.md

## chaos-cluster: the same faults on make cluster's topology (about 10 minutes): 1,000 events over
## both servers; kills temporal-server twice, PostgreSQL, a worker and a server; updates RELIABILITY.md
chaos-cluster: temporal-cli bin/temporal-server bin/temporal-sql-tool
	go run ./tools/chaos -cluster -n 1000 -spread 2m -report RELIABILITY.md

## bench: mediaflow against Temporal's own floor on the dev server, 127.0.0.1 (at most 30 minutes); rewrites
## docs/bench/dev.md and its charts (BENCHMARKS.md links them)
bench: temporal-cli
	scripts/bench.sh

## bench-quick: the same, tiny (about a minute and a half); its page goes to bench-results/<time>/ only
bench-quick: temporal-cli
	QUICK=1 scripts/bench.sh

## bench-cluster: the comparisons on make cluster's topology (PostgreSQL, Temporal 1.31, 2 servers, 2 workers), in a
## directory of its own (at most 30 minutes; needs the cluster's ports); rewrites docs/bench/cluster.md
bench-cluster: cluster-tools
	BENCH_MODE=cluster scripts/bench.sh

build:
	go build -o bin/ ./cmd/...

## temporal-cli: the Temporal CLI the dev server runs from: $TEMPORAL_CLI, bin/temporal, or a temporal on the
## PATH with dev server 1.29 or newer (tools/localtemporal); built into bin/ only when there is none
temporal-cli:
	@go build -o bin/ ./tools/stack && bin/stack temporal >/dev/null 2>&1 || $(MAKE) --no-print-directory bin/temporal

# The Temporal CLI (dev server + Web UI), built from the Go module proxy;
# about 8 minutes on 2 cores the first time (7 min 47 s measured).
bin/temporal:
	@echo "Installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (about 8 minutes on 2 cores the first time)..."
	GOBIN=$(CURDIR)/bin go install -ldflags='$(TEMPORAL_LDFLAGS)' github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

# From the Go module proxy. temporal-server and temporal-sql-tool come from
# one module at one version: one go install builds both (their links run
# side by side); about 11 minutes on 2 cores the first time (its
# dependencies are mostly newer than the CLI's: little is shared). go
# install names a binary after its package's directory ("server", "sql"),
# so each goes through a GOBIN of its own, then gets its name.
bin/temporal-server bin/temporal-sql-tool &:
	@echo "Installing temporal-server and temporal-sql-tool $(TEMPORAL_SERVER_VERSION) into ./bin (about 11 minutes on 2 cores the first time)..."
	rm -rf bin/.temporal-server.gobin
	GOBIN=$(CURDIR)/bin/.temporal-server.gobin go install -ldflags='$(TEMPORAL_LDFLAGS)' \
		go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv bin/.temporal-server.gobin/server bin/temporal-server
	mv bin/.temporal-server.gobin/sql bin/temporal-sql-tool
	rmdir bin/.temporal-server.gobin

bin/temporal-ui-server:
	@echo "Installing temporal-ui-server $(TEMPORAL_UI_VERSION) into ./bin..."
	rm -rf bin/.temporal-ui-server.gobin
	GOBIN=$(CURDIR)/bin/.temporal-ui-server.gobin go install -ldflags='$(TEMPORAL_LDFLAGS)' \
		github.com/temporalio/ui-server/v2/cmd/server@$(TEMPORAL_UI_VERSION)
	mv bin/.temporal-ui-server.gobin/server $@
	rmdir bin/.temporal-ui-server.gobin

fmt:
	gofmt -l -w .

vet:
	go vet ./...

## clean-data: remove data/ (Temporal's state, the jobs, media, logs) and keep bin/; refused while make dev runs
clean-data:
	@go build -o bin/ ./tools/stack && bin/stack check
	rm -rf data

## clean: remove bin/ and data/; the next make dev builds the Temporal CLI again (about 8 min on 2 cores)
clean:
	@go build -o bin/ ./tools/stack && bin/stack check
	rm -rf bin data

## readme-check: run the README's marked commands against a make dev of a fresh copy of this tree (CI)
readme-check:
	@scripts/readme-check.sh
