//go:build race

package e2e

// raceDetector reports whether the tests run with -race, which makes the
// server several times slower on large bodies.
const raceDetector = true
