package sandboxnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/testutil"
)

func newID(t *testing.T) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return driver.IDPrefix + "net-" + hex.EncodeToString(b)
}

func TestAddrs(t *testing.T) {
	for _, c := range []struct {
		slot          int
		host, sandbox string
	}{{0, "169.254.128.1/30", "169.254.128.2/30"}, {1, "169.254.128.5/30", "169.254.128.6/30"}, {slots - 1, "169.254.255.253/30", "169.254.255.254/30"}} {
		h, s := addrs(c.slot)
		if h.String() != c.host || s.String() != c.sandbox {
			t.Errorf("slot %d: %s %s, want %s %s", c.slot, h, s, c.host, c.sandbox)
		}
		if !Range.Contains(h.Addr()) || !Range.Contains(s.Addr()) {
			t.Errorf("slot %d outside %s", c.slot, Range)
		}
	}
}

// TestVethLink makes a link, checks it on both ends, and removes it: the
// device, the namespace and the record go.
func TestVethLink(t *testing.T) {
	testutil.RequireRoot(t)
	state := t.TempDir()
	id := newID(t)
	l, err := NewVeth(context.Background(), state, id)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Remove()
	n := l.Network()
	ifc, err := net.InterfaceByName(n.HostDevice)
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := ifc.Addrs()
	if len(addrs) != 1 || addrs[0].String() != n.HostAddr.String() {
		t.Errorf("host device addresses %v, want %s", addrs, n.HostAddr)
	}
	out, err := exec.Command("ip", "-n", id, "-o", "addr", "show", "dev", SandboxDevice).CombinedOutput()
	if err == nil && !strings.Contains(string(out), l.SandboxPrefix().String()) {
		t.Errorf("sandbox end: %s, want %s", out, l.SandboxPrefix())
	}
	if _, err := os.Stat(l.NetNSPath()); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.InterfaceByName(n.HostDevice); err == nil {
		t.Error("host device left")
	}
	if _, err := os.Stat(l.NetNSPath()); err == nil {
		t.Error("namespace left")
	}
	if ents, _ := os.ReadDir(recordDir(state)); len(ents) != 0 {
		t.Errorf("records left: %v", ents)
	}
}

// TestCollect removes the link of a dead owner and leaves a live one's.
func TestCollect(t *testing.T) {
	testutil.RequireRoot(t)
	state := t.TempDir()
	live, err := NewVeth(context.Background(), state, newID(t))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	dead, err := NewTap(context.Background(), state, newID(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Remove()
	// Hand the tap to a process that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	rec := dead.rec
	rec.OwnerPID = cmd.Process.Pid
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(recordPath(state, rec.Slot), b, 0o600); err != nil {
		t.Fatal(err)
	}
	left, err := Leftovers(state)
	if err != nil || len(left) != 1 || left[0].ID != rec.ID {
		t.Fatalf("Leftovers = %v, %v; want the dead owner's link", left, err)
	}
	lines, err := Collect(context.Background(), state)
	if err != nil || len(lines) != 1 {
		t.Fatalf("Collect = %v, %v", lines, err)
	}
	if _, err := net.InterfaceByName(rec.Device); err == nil {
		t.Error("the dead owner's tap is still there")
	}
	if _, err := net.InterfaceByName(live.Network().HostDevice); err != nil {
		t.Errorf("the live link went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(recordDir(state), "slot-"+strconv.Itoa(live.rec.Slot)+".json")); err != nil {
		t.Errorf("the live link's record went: %v", err)
	}
}
