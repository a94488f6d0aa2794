package config

import (
	"os"
	"testing"
)

// unsetenv removes key for the test, restoring it afterwards.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // registers the restore
	os.Unsetenv(key)
}
