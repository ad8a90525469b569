// Package hostinfo captures the environment a run is made in: the study's
// Table 1 and more. It reads the host's operating system (os-release) and
// kernel, CPU model and counts, memory, cgroup layout (v1, hybrid or v2),
// CPU frequency governors, SMT state, whether the host is itself a virtual
// machine or a container, and the load average when the run starts.
//
// # What it guarantees
//
// Capture never fails as a whole: a fact that cannot be read is left empty
// and the reason is kept in Info.Problems, so that a run on an unusual host
// still starts and says what it could not tell. Capture only reads files
// under Options.Root (normally "/") and, unless Options.NoCommands is set,
// runs systemd-detect-virt when it is installed; it changes nothing.
//
// Info travels with a run as flat key/value pairs (Info.Env, FromEnv), in
// result.Run.Env, so the store keeps it without a schema of its own. The
// keys are stable (see the Key constants); values are plain text. Run-level
// warnings judged from the environment (a CPU governor other than
// "performance", load on the host at the start) are kept in the same map
// under "warning.<code>" keys, so that every report made later from the
// store shows what was judged when the run was made (see Warnings and
// EnvWarnings).
//
// Versions of runtimes, engines, VMMs and guest kernels are not read here:
// they come from each driver's probe (result.Run.Runtimes); the versions of
// the workload tools come from the image manifest (AddTools).
package hostinfo
