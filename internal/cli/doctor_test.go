package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/doctor"
)

// TestDoctorArgs runs doctor: one runtime by name (the host baseline,
// probed for real), and an unknown name, a usage error.
func TestDoctorArgs(t *testing.T) {
	code, out, errOut := isobench(t, "--state-dir", t.TempDir(), "--cache-dir", t.TempDir(), "doctor", "no-such-runtime")
	if code != ExitUsage || !strings.Contains(errOut, `unknown runtime "no-such-runtime"`) || out != "" {
		t.Errorf("doctor no-such-runtime: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = isobench(t, "doctor", "host", "runc")
	if code != ExitUsage {
		t.Errorf("doctor with two names: exit %d (%s)", code, errOut)
	}
	if os.Geteuid() != 0 {
		t.Skip("the host baseline's probe is run as root")
	}
	code, out, errOut = isobench(t, "--state-dir", t.TempDir(), "--cache-dir", t.TempDir(), "doctor", "host")
	if code != 0 || !strings.HasPrefix(out, "host: yes") || strings.Contains(out, "runc") || strings.Contains(out, "TOOL") {
		t.Errorf("doctor host: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = isobench(t, "--state-dir", t.TempDir(), "--cache-dir", t.TempDir(), "doctor", "--json", "host")
	var doc doctor.Report
	if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil || len(doc.Runtimes) != 1 || doc.Runtimes[0].Name != "host" {
		t.Errorf("doctor --json host: exit %d, %v\n%s%s", code, err, out, errOut)
	}
}
