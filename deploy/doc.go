// Package deploy holds the files that run mediaflow in production beside
// docker-compose.yml and the Dockerfile at the repository root (PostgreSQL
// and Temporal setup scripts, Temporal's dynamic config), and the tests that
// check them without a Docker engine: the compose file as Compose itself
// loads it (compose-go), and the Dockerfile's stages, user and health check.
// The package has no code of its own.
package deploy
