package cachedir_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/cachedir"
)

func TestIDs(t *testing.T) {
	full := strings.Repeat("ab", 32)
	tests := []struct {
		s     string
		id    bool
		short string
	}{
		{s: full, id: true, short: "abababababab"},
		{s: strings.ToUpper(full), id: false, short: "ABABABABABAB"},
		{s: full[:63], id: false, short: "abababababab"},
		{s: full[:12], id: false, short: "abababababab"},
		{s: "abc", id: false, short: "abc"},
		{s: "", id: false, short: ""},
		{s: strings.Repeat("g", 64), id: false, short: "gggggggggggg"},
	}
	for _, tt := range tests {
		if got := cachedir.IsID(tt.s); got != tt.id {
			t.Errorf("IsID(%q) = %v, want %v", tt.s, got, tt.id)
		}
		if got := cachedir.ShortID(tt.s); got != tt.short {
			t.Errorf("ShortID(%q) = %q, want %q", tt.s, got, tt.short)
		}
	}
}

func TestFileDigest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := cachedir.FileDigest(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("FileDigest = %s, want %s", got, want)
	}
}

func TestLockPublishLeftovers(t *testing.T) {
	dir := t.TempDir()
	unlock, err := cachedir.Lock(context.Background(), dir, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cachedir.TryLock(dir); err == nil || !strings.Contains(err.Error(), "another isobench process") {
		t.Errorf("TryLock while locked: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var said strings.Builder
	if _, err := cachedir.Lock(ctx, dir, &said); err == nil {
		t.Error("a second Lock got the lock")
	}
	if !strings.Contains(said.String(), "waiting for another isobench process") {
		t.Errorf("the waiting Lock said %q", said.String())
	}

	final := filepath.Join(dir, "entry")
	for i, body := range []string{"first", "second"} {
		tmp, err := os.MkdirTemp(dir, cachedir.BuildPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "f"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := cachedir.Publish(dir, tmp, final); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
		if b, err := os.ReadFile(filepath.Join(final, "f")); err != nil || string(b) != body {
			t.Errorf("after Publish %d: %q, %v", i, b, err)
		}
	}

	for _, n := range []string{cachedir.BuildPrefix + "x", cachedir.OldPrefix + "y"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := cachedir.RemoveLeftovers(dir); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".lock entry" {
		t.Errorf("after RemoveLeftovers the directory holds %s", got)
	}
	unlock()
	relock, err := cachedir.TryLock(dir)
	if err != nil {
		t.Fatalf("TryLock after unlock: %v", err)
	}
	relock()
}
