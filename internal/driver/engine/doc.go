// Package engine drives container engines: Docker, and Podman through its
// Docker-compatible API. Each sandbox is a container of the engine, run
// with one OCI runtime: the engine's default ("docker", "podman") or the
// one the variant names ("docker:runsc", "docker:crun", "podman:runc").
// Next to the direct OCI drivers (runc, crun, runsc) they measure what the
// engine adds on top of the same runtime.
//
// # The client
//
// Both engines are driven over their unix socket with the Docker Engine
// API client github.com/moby/moby/client (with its types module
// github.com/moby/moby/api). It is the client the Docker project itself
// maintains and releases; the older github.com/docker/docker module is
// frozen at v28 and deprecated in its favour, with the same dependency
// tree (containerd/errdefs, distribution/reference, go-connections,
// image-spec, OpenTelemetry's HTTP instrumentation). It negotiates the API
// version down to the daemon's: Docker 20.10 and Podman 4 speak 1.41, and
// the client supports 1.40 and later.
//
// # Daemons
//
// A daemon the user runs (the engine's socket answers) is used as it is
// and never stopped. When none answers and isobench runs as root, the
// driver starts a private one: its socket, pid file and a record in
// StateDir/engine/KEY, its data root (which keeps imported images across
// runs), exec root, configuration, log and runtime wrappers in
// RunDir/engine/KEY. A private dockerd runs with no iptables rule, no
// masquerade and the host's forwarding left alone (--iptables=false
// --ip-masq=false --ip-forward=false), its default bridge network on a
// bridge isobench makes (--bridge, see Networks below), in containerd
// namespaces of its own, with a daemon.json that registers every known OCI
// runtime installed here: runsc (the binary the runsc driver runs: the one
// setup --gvisor built, where it exists; an older runsc than that one gets
// runtimeArgs ["--network=none"], without which it starts no container,
// and so no network), crun
// (on a hybrid cgroup host through a wrapper that runs it in a private
// mount namespace without the cgroup2 mounts, which crun cannot handle),
// youki. Podman's compatible API ignores the runtime a container asks for,
// so each Podman runtime gets a private `podman --runtime R system
// service` of its own (KEY podman-R), with runsc's flags as
// --runtime-flag (runsc always with --network=none: a Podman container
// without a network has a namespace whose lo is down, which runsc cannot
// take); containers live in the host's Podman storage, so that
// `podman ps -a` shows them while they exist.
//
// Every driver value that uses a private daemon holds a use of it: a file
// in the record's users directory named by its process and a token. Driver
// Close (called by the CLI through driver.CloseDriver at the end of a run,
// a doctor or a gc) gives the use up; the last use stops the daemon
// (SIGTERM, then SIGKILL) and removes what it left (containerd and shims
// naming its exec root, mounts under its roots, the exec root, socket,
// pid file, record). Uses of dead processes do not count, so a daemon left
// by a crashed isobench is taken over by the next run, or stopped by
// Collect. The daemon runs in its own process group: a Ctrl-C reaches
// isobench, which removes its containers first.
//
// # Images
//
// The workload image's root filesystem is streamed to the engine as a tar
// (archive/tar, owners and modes kept, hard links as links) and imported
// as localhost/isobench-workload:TAG, where TAG is the image's content id
// and a fingerprint of its files as they are on disk; an image already
// there is reused, so a run imports it once and later runs not at all.
// Probe's test container runs a static busybox, imported once as
// localhost/isobench-probe:DIGEST. Images carry isobench.managed=true,
// isobench.kind and the source image's id and root filesystem path. They
// are a cache and stay after a run; Collect (isobench gc) removes workload
// images no container uses whose source left isobench's image cache (so
// `isobench image prune` then gc frees the engine's copies too) or that a
// newer import superseded.
//
// # Sandboxes
//
// Create makes a container named by the sandbox id, labelled
// isobench.managed, isobench.kind, isobench.id, isobench.owner (the pid
// and start time of the isobench process), isobench.driver, isobench.runtime
// and the spec's labels (isobench.run, ...), with network mode none (or,
// for a spec with Network, the engine's default bridge network, below), the
// agent as entrypoint ([image.AgentPath, "init"]), and the scratch kind:
// rootfs is the container's own writable layer (overlay2 for Docker,
// overlay for Podman), as in the study; volume is an engine volume named
// ID-scratch, labelled like the container; tmpfs is the engine's tmpfs
// mount. Podman's containers get the service process's rlimits (nofile,
// nproc): Podman 4 asks for 1048576 of each, which a host without
// CAP_SYS_RESOURCE refuses. Start starts the container and reads its
// output until the agent's Ready line. Exec runs a command through the
// engine's exec API with stdout and stderr demultiplexed. Stop stops the
// container (SIGTERM, SIGKILL after 3s). Close removes container and
// volume, then ends the processes of the host that still name the
// container's id and detaches mounts that name it, and checks that the
// engine knows neither. That last step is not idle: a start that fails
// under docker:runsc leaves the container's containerd shim running after
// the container is removed (runsc's gofer and sandbox go with the
// container); a failed Start runs all of it before it returns.
//
// # Networks
//
// The variant hostnet ("docker:hostnet", "podman:hostnet": the engine's
// default runtime) gives a sandbox made with Spec.Network the host's
// network namespace instead, as `docker run --network host` does
// (driver.Network kind "host": host and sandbox meet on lo; Info's
// network_mode says "host"; runsc is refused, which would need its own
// --network=host). Otherwise a sandbox made with Spec.Network is on the
// engine's own default bridge network, as `docker run` and `podman run`
// give it: a veth pair whose
// host end is a port of a bridge with the container's gateway address
// (driver.Network kind "bridge"; the host reaches the container on the
// bridge directly, without NAT). A private daemon gets a bridge of its
// own, which isobench makes before the daemon starts: isbeN, a /24 of
// 169.254.96.0/19 (link-local, never routed; a slot whose subnet a host
// route touches, or whose name a device has, is skipped), no IPv6 address,
// its alias "isobench-engine PID:START" naming the process whose life
// holds it (the isobench that made it, then the daemon). The daemon record
// names it; it is deleted after the daemon stopped, and gc deletes any
// isbe bridge whose holder no longer runs. dockerd gets it as --bridge;
// a private Podman service (CNI here) gets --network-config-dir with its
// default network "podman" on it: the bridge plugin only (not a gateway,
// so no default route in the container and the host's forwarding left
// alone; no masquerade, no firewall or port-mapping plugin), host-local
// leases under RunDir. No iptables rule is made for any of it. Podman's
// CNI library makes /var/lib/cni/results for its cache: when they were
// not there before the service started, they are removed (if empty) after
// it stopped. The link is known once Start returned (the engine gives the
// address at start): Network reads the container's address and gateway,
// finds the bridge by its address and the bridge port through the
// container's network namespace, and says the path (bridge, port, their
// MTU and offloads; package linkpath). A daemon the user runs is used with
// its own default bridge, as configured. runsc registered with
// --network=none (as a private daemon registers it) gives no network:
// such a runtime has no network feature, and Create with Network fails
// with ErrNotSupported.
//
// # What Probe says
//
// Probe connects (starting a private daemon if needed), finds the runtime
// among those the daemon has registered and its binary, and runs `true`
// in a test container with it; every failure is an ErrNotSupported error
// saying why: no socket, daemon not running, permission denied, a private
// daemon that would not start (its log), a runtime not registered (and
// what to add to daemon.json or containers.conf), a binary missing, or the
// engine's own words when the test container fails. Info.Features record
// what pairs an engine row with a direct runtime row: oci_runtime (runc,
// crun, runsc), oci_runtime_binary and _version, runtime_args, platform
// and overlay2 (runsc's, from its arguments or `runsc flags`),
// cgroup_workaround, storage_driver, cgroup_driver, network, engine,
// engine_version, api_version, daemon (private or user), socket, ulimits.
//
// # Collect
//
// Collect (isobench gc) removes, in the private daemons recorded under the
// Env and in the user's daemon if it answers, the containers and volumes
// labelled isobench.managed whose owner no longer runs, and the images
// described above; it stops a private daemon no live isobench process
// uses, and cleans up after one that died. It never starts a daemon and
// never touches what lacks the labels or belongs to a live isobench
// process.
package engine
