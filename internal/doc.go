// Package internal holds isobench's packages; this file is their map. Data
// flows one way, down this list: a suite becomes a plan, the runner runs its
// trials on drivers and workloads, every trial lands in the store, and the
// reports are computed from a stored run. Nothing below calls back up.
//
// Commands and wiring:
//
//	cli          the subcommands: flags, wiring and output only
//	builtin      the one place where drivers and workloads are registered,
//	             and the driver environment (the KVM decision) is built
//	setup        what `isobench setup` installs: Debian packages, the
//	             backports source, the gVisor build
//	doctor       which runtimes work here and exactly why the others do not
//	progress     the live display of a run (a runner observer)
//
// What to measure, and measuring it:
//
//	plan         suite files and flags, their bounds, the matrix, the seeded
//	             interleaved order, resume planning, the disclosure of what
//	             a suite will run
//	runner       runs a plan, serially or sharded (Kubernetes): a fresh
//	             sandbox per trial, timeouts, clean-up that always runs,
//	             probing the runtimes, recording the run in the store
//	workload     the Workload interface; its packages: sysbench, fio,
//	             storage (what the file workloads share), startup, density,
//	             syscalls, netperf (net), apps (http, redis, python);
//	             workloadtest runs one for real in tests
//	agent        the program inside every sandbox (PID 1 in VMs): runs
//	             commands and reports their results as JSON lines
//
// Sandboxes:
//
//	driver       the Driver and Instance interfaces, Spec, Info, the
//	             capabilities (network, one-shot, host processes)
//	driver/...   one package per family: host (the baseline), oci (runc,
//	             crun, youki, runsc), engine (Docker, Podman), lxc, incus,
//	             qemu, firecracker, cloudhypervisor; vmm is what the VM
//	             drivers share; driverkit what every driver shares;
//	             sandboxnet the veth and tap links; linkpath describes a
//	             link's devices; drivertest the suite every driver passes
//	kube         runs the sandboxes as pods of a Kubernetes cluster, one
//	             RuntimeClass per runtime
//	image        the workload image: a root filesystem built from the
//	             host's programs, its cache, and import of a user's image
//	image/ociimport  reads and unpacks a user's (untrusted) OCI image
//	guest        what a VM boots besides the image: kernel, modules,
//	             initramfs, ext4 disk
//	cachedir     the discipline of the on-disk caches (lock, publish,
//	             leftovers)
//
// Results:
//
//	result       the plain data of trials and runs
//	store        the embedded SQLite store: every trial committed when it
//	             ends
//	hostinfo     the environment of a run, and the host's policy for
//	             measuring (governor, load)
//	stats        summaries, confidence intervals, ratios, Mann–Whitney,
//	             the adaptive stop
//	analysis     what a run says: groups, ratios to the baseline,
//	             significance, the study's findings, comparisons and the
//	             gate's verdicts
//	report       renderers over an analysis: text, JSON, CSV, Markdown,
//	             Go benchmark format, HTML with its SVG charts
//	warning      a problem that does not stop a run, as data
//
// Small pieces that several rooms share: inputfile (reading files named by
// untrusted input), outputfile (writing the files a user names), filecopy
// (the one file copy), testutil and testutil/hostile (test helpers).
package internal
