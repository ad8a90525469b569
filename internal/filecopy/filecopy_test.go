package filecopy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/isobench/isobench/internal/filecopy"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to string
		mode     os.FileMode
		wantErr  bool
		want     string
	}{
		{name: "new file", from: src, to: filepath.Join(dir, "new"), mode: 0o755, want: "contents"},
		{name: "existing file is kept", from: src, to: existing, mode: 0o644, wantErr: true, want: "old"},
		{name: "missing source", from: filepath.Join(dir, "absent"), to: filepath.Join(dir, "never"), mode: 0o644, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := filecopy.Copy(tt.from, tt.to, tt.mode)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Copy: err = %v, want error %v", err, tt.wantErr)
			}
			b, rerr := os.ReadFile(tt.to)
			if tt.want == "" {
				if rerr == nil {
					t.Errorf("%s was made", tt.to)
				}
				return
			}
			if rerr != nil || string(b) != tt.want {
				t.Fatalf("%s holds %q (%v), want %q", tt.to, b, rerr, tt.want)
			}
			if tt.wantErr {
				return
			}
			fi, err := os.Stat(tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
		})
	}
}
