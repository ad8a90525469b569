package engine

import (
	"path/filepath"
	"strings"

	"github.com/isobench/isobench/internal/driver"
)

// engine says what differs between Docker and Podman; everything else is
// the same code speaking the Docker Engine API.
type engine struct {
	name  string // runtime name users write: "docker", "podman"
	title string // "Docker", "Podman"
	// socket is where the engine's own rootful daemon listens by default.
	socket string
	// daemonBinary starts a private daemon: dockerd, or podman (system
	// service).
	daemonBinary string
	pkg          string // the Debian package that installs it
	// register says how a user adds an OCI runtime to the engine.
	register string
	// execRoot: the daemon keeps per-container runtime state under its own
	// exec root (dockerd), which a private daemon puts under the run
	// directory.
	execRoot bool
	// serviceLimits: the engine gives containers default rlimits above what
	// a process without CAP_SYS_RESOURCE may set (Podman 4 asks for
	// 1048576 open files and processes), so containers get the service
	// process's own limits instead.
	serviceLimits bool
	// servicePerRuntime: the engine's Docker-compatible API ignores the
	// runtime a container asks for (Podman 4 does), so each OCI runtime
	// gets a private service of its own, started with it as the default
	// (podman --runtime R --runtime-flag F system service).
	servicePerRuntime bool
}

func dockerEngine() engine {
	return engine{
		name: "docker", title: "Docker", socket: "/var/run/docker.sock",
		daemonBinary: "dockerd", pkg: "docker.io",
		register: `add it to the daemon's daemon.json ("runtimes": {"NAME": {"path": "/usr/bin/NAME"}}) and reload the daemon (SIGHUP)`,
		execRoot: true,
	}
}

func podmanEngine() engine {
	return engine{
		name: "podman", title: "Podman", socket: "/run/podman/podman.sock",
		daemonBinary: "podman", pkg: "podman",
		register:          `add it to containers.conf under [engine.runtimes] (NAME = ["/usr/bin/NAME"])`,
		serviceLimits:     true,
		servicePerRuntime: true,
	}
}

// ociRuntime is an OCI runtime isobench knows, as the engines run it.
type ociRuntime struct {
	name      string
	pkg       string   // Debian package, "" when there is none
	isolation string   // driver.Isolation*
	args      []string // flags every sandbox of an engine gets
}

// knownRuntimes lists the OCI runtimes a private daemon registers when
// their binaries are installed, and that doctor probes as variants.
func knownRuntimes() []ociRuntime {
	return []ociRuntime{
		{name: "runc", pkg: "runc", isolation: driver.IsolationContainer},
		{name: "crun", pkg: "crun", isolation: driver.IsolationContainer},
		// Its flags depend on the binary: see runtimeArgs.
		{name: "runsc", pkg: "runsc", isolation: driver.IsolationUserKernel},
		{name: "youki", isolation: driver.IsolationContainer},
	}
}

// lookupRuntime finds a known runtime by the base name of its binary.
func lookupRuntime(name string) (ociRuntime, bool) {
	for _, r := range knownRuntimes() {
		if r.name == name {
			return r, true
		}
	}
	return ociRuntime{}, false
}

// isolationOf says what isolation an OCI runtime binary gives.
func isolationOf(oci string) string {
	if r, ok := lookupRuntime(oci); ok {
		return r.isolation
	}
	if strings.HasPrefix(oci, "kata") {
		return driver.IsolationVM
	}
	return driver.IsolationContainer
}

// ociName returns the OCI runtime's name from the path an engine runs:
// its base name ("/usr/sbin/runc" -> "runc"). Wrappers the driver writes
// carry the name of the runtime they run.
func ociName(path, fallback string) string {
	if path == "" {
		return fallback
	}
	return filepath.Base(path)
}
