# mediaflow: make dev (run it all locally), make test (what CI runs).
SHELL := /bin/bash
TEMPORAL_CLI_VERSION := v1.5.1
# Dev-only secret used by `make dev` when ANIMUS_WEBHOOK_SECRET is unset.
# Never use it anywhere else.
DEV_SECRET := whsec_ZGV2LW9ubHktc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg==

.PHONY: dev test build send fmt vet clean temporal-cli fuzz chaos bench bench-quick

## dev: install what is missing, start Temporal (UI on :8233), the worker and the server
dev: bin/temporal
	@DEV_SECRET=$(DEV_SECRET) scripts/dev.sh

## test: vet and all tests, integration tests against a real Temporal dev server
test: bin/temporal
	@scripts/test.sh

## send: deliver the success sample to the local server, signed with the dev secret
send:
	@ANIMUS_WEBHOOK_SECRET=$${ANIMUS_WEBHOOK_SECRET:-$(DEV_SECRET)} go run ./tools/send $(ARGS)

## fuzz: each fuzz target for FUZZTIME (default 60s); make test runs their seed corpora only
FUZZTIME ?= 60s
fuzz:
	go test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/webhook/
	go test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/animus/

## chaos: the fault and overload test on 127.0.0.1 (about 5 minutes); writes RELIABILITY.md
chaos: bin/temporal build
	go run ./tools/chaos -n 500 -overload -report RELIABILITY.md

## bench: micro-benchmarks and load runs on 127.0.0.1 (10 to 25 minutes); see BENCHMARKS.md
bench: bin/temporal
	scripts/bench.sh

## bench-quick: the same, tiny, under a minute
bench-quick: bin/temporal
	QUICK=1 scripts/bench.sh

build:
	go build -o bin/ ./cmd/...

temporal-cli: bin/temporal

# The Temporal CLI (dev server + Web UI), built from the Go module proxy;
# about 4 minutes the first time.
bin/temporal:
	@echo "Installing the Temporal CLI $(TEMPORAL_CLI_VERSION) into ./bin (about 4 minutes the first time)..."
	GOBIN=$(CURDIR)/bin go install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

fmt:
	gofmt -l -w .

vet:
	go vet ./...

clean:
	rm -rf bin data
