// Package apps holds the application workloads: real programs from the
// distribution, run in the sandbox the same way on every runtime.
//
//   - http: nginx serving a static file of 1 KiB or 100 KiB (made with dd
//     in the trial's scratch directory, with nginx's configuration),
//     loaded with wrk --latency: requests/s, latency p50 and p99,
//     transfer/s.
//   - redis: redis-server without persistence, loaded with
//     redis-benchmark's SET and GET (--csv): ops/s and latency p50 and p99
//     of each.
//   - python: CPython's start-up (the median of runs of python3 -c pass,
//     and of python3 -c "import json, re, decimal", each timed by the
//     agent inside the sandbox) and the kernels of the project's own
//     compute script (compute.py, embedded and copied into the scratch
//     directory; its SHA-256 is kept with every trial).
//
// The server workloads make a fresh sandbox per trial, with a network
// link (driver.Spec.Network, driver.Networker) when the runtime's driver
// offers one. With client=host (the default) the client runs on the host
// and reaches the server over the link; runtimes without a link are
// skipped with the reason. With client=inside the client runs in the
// sandbox against the server on its loopback: the server's own cost
// without the network path, on every runtime. Each trial waits for the
// server (an HTTP GET of the file, or PING) within ready-timeout, warms
// it with an unmeasured client run, measures, and stops it; a server that
// does not come up fails the trial with its log, and a port taken where
// the server runs (ErrPortInUse) is reported, not retried elsewhere.
//
// Pinning (pin=auto): on a host where isobench may use two CPUs or more,
// the client runs on the first and the server on the second. A host-side
// client is pinned with sched_setaffinity; a sandbox on the host's kernel
// pins its server (and an inside client) with the image's taskset; the
// host processes of a sandbox with virtual CPUs (gVisor, VMs) are pinned
// from the host when the driver names them. The trial records what was
// pinned (pin.client, pin.server).
//
// The programs come from the workload image, built from the host's files
// (package image); Check refuses with driver.ErrNotSupported a runtime
// for which the host, and so the image, lacks one. Every tool's raw
// output is kept with the trial; its parsers (ParseWrk, ParseRedisCSV,
// ParseCompute) read it as hostile input, are tested on real captured
// output in testdata and fuzzed.
package apps
