package vmm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
)

func TestResolveBinary(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := script("fc", `echo "Firecracker v1.7.0"; echo; echo "Supported snapshot data format versions: v1.0.0"`)
	bad := script("broken", "exit 3")
	for _, tc := range []struct {
		name, given, wantVersion, wantErr string
	}{
		{"given binary", good, "v1.7.0", ""},
		{"not in PATH", "", "", "no isobench-no-such-vmm binary in PATH (not packaged: install a VMM release)"},
		{"missing path", filepath.Join(dir, "nope"), "", "no isobench-no-such-vmm binary at"},
		{"a directory", dir, "", "no isobench-no-such-vmm binary at"},
		{"--version fails", bad, "", "--version: exit status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, v, err := ResolveBinary(context.Background(), "vmm-test", "isobench-no-such-vmm", tc.given, "a VMM release", "Firecracker ")
			if tc.wantErr == "" {
				if err != nil || v != tc.wantVersion {
					t.Fatalf("ResolveBinary = %q, %v; want %q", v, err, tc.wantVersion)
				}
				return
			}
			if !errors.Is(err, driver.ErrNotSupported) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ResolveBinary error %v, want NotSupported saying %q", err, tc.wantErr)
			}
		})
	}
}
