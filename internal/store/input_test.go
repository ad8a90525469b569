package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/testutil/hostile"
)

// TestOpenSpecialFiles: a database path that names a FIFO, a device or a
// directory, or that has a FIFO for its journal, is refused at once,
// never opened (a FIFO would block) nor written.
func TestOpenSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := hostile.FIFO(t, dir, "fifo.db")
	journaled := filepath.Join(dir, "journaled.db")
	hostile.FIFO(t, dir, "journaled.db-wal")
	for path, want := range map[string]string{
		fifo:        "is a FIFO (named pipe), not a regular file",
		"/dev/zero": "is a character device, not a regular file",
		dir:         "is a directory",
		journaled:   journaled + "-wal is a FIFO (named pipe), not a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			s, err := Open(context.Background(), path)
			if err == nil {
				s.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Open(%s) = %v, want %q", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) blocked", path)
		}
	}
	if _, err := os.Stat(journaled); err == nil {
		t.Error("a database was made beside a FIFO journal")
	}
}
