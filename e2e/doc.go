// Package e2e holds the integration tests: real HTTP into the server's
// handler, a real Temporal (the dev server from the CLI in ./bin, started
// by the tests; or, with E2E_TEMPORAL_ADDRESS=host:port, a running cluster
// such as make cluster's, its search attributes already registered), a
// real worker on a task queue of each test's own and a real SQLite
// database.
package e2e
