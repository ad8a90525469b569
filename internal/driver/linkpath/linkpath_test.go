package linkpath

import (
	"strings"
	"testing"
)

func TestDescribeLoopback(t *testing.T) {
	s := Describe("lo")
	if !strings.HasPrefix(s, "device lo mtu ") {
		t.Errorf("Describe(lo) = %q, want it to start with the kind, name and MTU", s)
	}
	t.Log(s)
	if got := Describe("", "lo"); got != s {
		t.Errorf("an empty name is not skipped: %q", got)
	}
}

func TestDeviceMissing(t *testing.T) {
	if s := Device("isobench-none"); !strings.Contains(s, "unreadable") {
		t.Errorf("Device of a missing device = %q", s)
	}
}
