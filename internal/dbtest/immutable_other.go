//go:build !linux

package dbtest

import (
	"errors"
	"fmt"
)

// setImmutable is Linux only; elsewhere a test run as root is skipped.
func setImmutable(path string, on bool) error {
	return fmt.Errorf("immutable attribute of %s: %w", path, errors.ErrUnsupported)
}
