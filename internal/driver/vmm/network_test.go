package vmm

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/sandboxnet"
	"github.com/isobench/isobench/internal/testutil"
)

func TestGuestMAC(t *testing.T) {
	got := guestMAC(netip.MustParseAddr("169.254.157.86"))
	if got != "02:69:62:fe:9d:56" {
		t.Errorf("guestMAC = %s", got)
	}
	mac, _ := net.ParseMAC(got)
	if mac[0]&1 != 0 || mac[0]&2 == 0 {
		t.Errorf("%s: want a unicast, locally administered address", got)
	}
}

// TestCollectTap: gc removes the tap of a guest whose isobench died, and
// Leftovers names it.
func TestCollectTap(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	d, err := New(env, stubFamily{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := driver.IDPrefix + "collect-tap"
	link, err := sandboxnet.NewTap(context.Background(), env.StateDir, id)
	if err != nil {
		t.Skipf("no tap here: %v", err)
	}
	defer link.Remove()
	tap := link.Network().HostDevice
	// Hand the tap and a guest record naming it to a process that has
	// exited.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	slots, _ := filepath.Glob(filepath.Join(env.StateDir, "net", "slot-*.json"))
	if len(slots) != 1 {
		t.Fatalf("tap records %q, want one", slots)
	}
	b, _ := os.ReadFile(slots[0])
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	rec["owner_pid"] = gone.Process.Pid
	b, _ = json.Marshal(rec)
	if err := os.WriteFile(slots[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := record{Version: recordVersion, Runtime: "stub-vmm", ID: id, Dir: filepath.Join(env.RunDir, id), OwnerPID: gone.Process.Pid, OwnerStart: 1, Tap: tap}
	if err := stateRecords(env.StateDir).Create(r); err != nil {
		t.Fatal(err)
	}
	left, err := d.Leftovers(context.Background())
	if err != nil || len(left) != 1 || !strings.Contains(left[0].What, tap) {
		t.Errorf("Leftovers = %v, %v; want the guest, naming its tap %s", left, err, tap)
	}
	lines, err := d.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("collect: %q", lines)
	if _, err := net.InterfaceByName(tap); err == nil {
		t.Errorf("the dead owner's tap %s is still there", tap)
	}
	if slots, _ := filepath.Glob(filepath.Join(env.StateDir, "net", "slot-*.json")); len(slots) != 0 {
		t.Errorf("tap records left: %q", slots)
	}
}
