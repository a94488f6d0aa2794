// Package logtest holds what tests use to read a program's log while the
// program still writes it. It is imported by tests only.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a log sink safe for concurrent use: the program writes from
// its goroutines (handlers, timers, the Temporal SDK's pollers) while the
// test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
