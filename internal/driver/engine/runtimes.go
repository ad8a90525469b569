package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/oci"
)

// wrapper is a small script the driver writes so that an engine runs an
// OCI runtime the way isobench's direct drivers do.
type wrapper struct {
	path   string // the script
	binary string // the runtime it runs
	// workaround says what the wrapper changes, for Info.Features.
	workaround string
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeWrappers writes, in dir, the wrappers an engine needs here: crun,
// on a hybrid cgroup host (cgroup2 mounted at hybrid beside v1
// controllers), runs in a private mount namespace without the cgroup2
// mounts, which it cannot handle ("cgroups in hybrid mode not supported"),
// as the direct crun driver does. Nothing is written when crun (or unshare)
// is not installed or the host is not hybrid.
func writeWrappers(dir string, hybrid []string) (map[string]wrapper, error) {
	out := map[string]wrapper{}
	if len(hybrid) == 0 {
		return out, nil
	}
	crun, err1 := exec.LookPath("crun")
	unshare, err2 := exec.LookPath("unshare")
	sh, err3 := exec.LookPath("sh")
	if err1 != nil || err2 != nil || err3 != nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making the runtime wrapper directory: %w", err)
	}
	var umounts []string
	for _, p := range hybrid {
		umounts = append(umounts, "umount "+shellQuote(p))
	}
	inner := strings.Join(umounts, " && ") + ` && exec ` + shellQuote(abs(crun)) + ` "$@"`
	script := "#!" + abs(sh) + "\n" +
		"# Written by isobench. crun cannot run on a hybrid cgroup host; it runs\n" +
		"# here in a private mount namespace without the cgroup2 mounts.\n" +
		"exec " + shellQuote(abs(unshare)) + " --mount --propagation private -- " + shellQuote(abs(sh)) +
		" -c " + shellQuote(inner) + " crun \"$@\"\n"
	p := filepath.Join(dir, "crun")
	if err := writeFileAtomic(p, []byte(script), 0o755); err != nil {
		return nil, err
	}
	out["crun"] = wrapper{path: p, binary: abs(crun), workaround: "private mount namespace without " + strings.Join(hybrid, ", ")}
	return out, nil
}

func abs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// dockerRuntimeConfig is the daemon.json of a private dockerd: every known
// runtime installed here but runc (dockerd's own), with its arguments, and
// crun through its wrapper where the host needs one.
func dockerRuntimeConfig(wrappers map[string]wrapper) ([]byte, error) {
	type rt struct {
		Path string   `json:"path"`
		Args []string `json:"runtimeArgs,omitempty"`
	}
	runtimes := map[string]rt{}
	for _, r := range knownRuntimes() {
		if r.name == "runc" {
			continue // dockerd's own; the name is reserved
		}
		if w, ok := wrappers[r.name]; ok {
			runtimes[r.name] = rt{Path: w.path, Args: r.args}
			continue
		}
		p, err := runtimeBinary(r.name)
		if err != nil {
			continue
		}
		runtimes[r.name] = rt{Path: p, Args: runtimeArgs(r, p)}
	}
	return json.MarshalIndent(map[string]any{"runtimes": runtimes}, "", "  ")
}

// runtimeVersion asks a runtime binary for its version (first line).
func runtimeVersion(ctx context.Context, binary string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// runscDefaults asks runsc for the defaults of its flags that decide what
// a measurement means (the platform, the root overlay).
func runscDefaults(ctx context.Context, binary string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "flags").CombinedOutput()
	if err != nil {
		return nil
	}
	return parseRunscFlags(string(out), "platform", "overlay2")
}

// parseRunscFlags reads the defaults of the named flags from the output of
// `runsc flags` (Go flag package help: "  -name type" then an indented
// description ending in `(default "value")` or `(default value)`). Flags
// without a default are left out.
func parseRunscFlags(out string, names ...string) map[string]string {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	res := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	current := ""
	var desc strings.Builder
	flush := func() {
		if current == "" {
			return
		}
		if v, ok := flagDefault(desc.String()); ok {
			res[current] = v
		}
		current = ""
		desc.Reset()
	}
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if strings.HasPrefix(trimmed, "-") && !strings.HasPrefix(line, "\t") && len(line)-len(trimmed) <= 2 {
			flush()
			name, rest := strings.TrimPrefix(trimmed, "-"), ""
			if i := strings.IndexAny(name, " \t"); i >= 0 {
				name, rest = name[:i], name[i:]
			}
			if want[name] {
				current = name
				// A one-letter flag has its description on the same line.
				if i := strings.IndexByte(rest, '\t'); i >= 0 {
					desc.WriteString(rest[i+1:] + " ")
				}
			}
			continue
		}
		if current != "" {
			desc.WriteString(strings.TrimSpace(line))
			desc.WriteByte(' ')
		}
	}
	flush()
	return res
}

// flagDefault finds the last `(default X)` in a flag description.
func flagDefault(desc string) (string, bool) {
	i := strings.LastIndex(desc, "(default ")
	if i < 0 {
		return "", false
	}
	rest := desc[i+len("(default "):]
	j := strings.LastIndex(rest, ")")
	if j < 0 {
		return "", false
	}
	v := rest[:j]
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" {
		return "", false
	}
	return v, true
}

// notRegistered says that a runtime is not registered with an engine, and
// how to register it.
func notRegistered(eng engine, name, endpoint string, registered []string) error {
	how := strings.ReplaceAll(eng.register, "NAME", name)
	return driver.NotSupported(eng.name+":"+name, "runtime %s is not registered with the %s daemon at %s (registered: %s); %s",
		name, eng.title, endpoint, strings.Join(registered, ", "), how)
}

// notInstalled says that a known runtime's binary is not installed.
func notInstalled(what string, r ociRuntime) error {
	if r.pkg != "" {
		return driver.NotSupported(what, "%s is not installed (not in PATH); isobench setup installs it (%s)", r.name, r.pkg)
	}
	return driver.NotSupported(what, "%s is not installed (not in PATH)", r.name)
}

// runtimeBinary finds the binary of a known runtime that a private daemon
// registers: the one the direct driver of that runtime runs (for runsc,
// the one `isobench setup --gvisor` built, where it exists), so that
// docker:runsc and runsc measure the same binary.
func runtimeBinary(name string) (string, error) {
	p, err := exec.LookPath(oci.Binary(name))
	if err != nil {
		return "", err
	}
	return abs(p), nil
}

// runscNetworkSince is the date (YYYYMMDD) of the oldest runsc release
// seen to start in the network namespace an engine gives a container
// (Docker 20.10 passes it without a path): the gVisor that `isobench
// setup --gvisor` builds does; the 2022 runsc Debian packages fails
// every container, with or without a network, with "cannot run with
// network enabled in root network namespace" unless it runs with
// --network=none.
const runscNetworkSince = 20251011

// runtimeArgs returns the flags a private daemon gives every sandbox of a
// known runtime, whose binary is at path: runsc older than
// runscNetworkSince (or of a version it cannot read) runs with
// --network=none, so that its sandboxes start, without a network.
func runtimeArgs(r ociRuntime, path string) []string {
	if r.name != "runsc" {
		return r.args
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if d := runscDate(runtimeVersion(ctx, path)); d >= runscNetworkSince {
		return r.args
	}
	return append(append([]string(nil), r.args...), "--network=none")
}

// runscDate reads the release date (YYYYMMDD) in runsc's version line:
// "runsc version release-20240513.0", "runsc version 0.0~20221219.0",
// "runsc version v0.0.0-20251011013117-af7a19336e55"; 0 when it has none.
func runscDate(version string) int {
	m := runscDateRE.FindStringSubmatch(version)
	if m == nil {
		return 0
	}
	d, err := strconv.Atoi(m[1])
	if err != nil {
		return 0
	}
	return d
}

// runscDateRE finds the first date of the form 20YYMMDD in a version
// line, not inside a longer run of digits' middle.
var runscDateRE = regexp.MustCompile(`(?:^|[^0-9])(20[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))`)
