// Package e2e holds the integration tests: real HTTP into the server's
// handler, a real Temporal dev server (the CLI in ./bin, started by the
// tests), a real worker and a real SQLite database.
package e2e
