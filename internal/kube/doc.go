// Package kube runs isobench's sandboxes on a Kubernetes cluster, so that
// the same suite that runs on one host runs on a cluster's nodes and
// RuntimeClasses (runc, gVisor's runsc, Kata, ...) and every sample comes
// back into the same results store.
//
// A Driver is one runtime on one node: a RuntimeClass (the runtime's name
// mapped through a configurable table, by default the same name) pinned to
// one node by node affinity. Its instances are Jobs (parallelism 1,
// completions 1, backoffLimit 0, an activeDeadlineSeconds and a
// ttlSecondsAfterFinished as the cluster's own backstop should isobench die)
// whose one pod runs the workload image with the isobench agent as its
// entrypoint, in init mode. Start submits the Job and waits for the pod to
// run and for the agent's Ready line in the pod's log, which also says the
// kernel the sandbox sees; Exec runs a command through the pods/exec
// subresource (client-go's remotecommand, WebSocket with a SPDY fallback),
// so every workload runs unchanged through the runner, with its
// interleaving, warm-ups, timeouts and adaptive stop, and its commands'
// results come back as the agent's JSON lines. Stop deletes the Job and its
// pod; Close waits until both are gone and reports whatever is left.
//
// The cluster is reached through a client of the three API groups isobench
// uses (core/v1, batch/v1 and node/v1), over client-go's REST client and a
// scheme of these groups only: client-go's clientset would link every API
// group of Kubernetes, their typed clients and OpenAPI discovery, some 40
// MB of the binary for three groups.
//
// Why a long-lived pod rather than one Job per command whose log carries
// the result: a trial of a workload runs several commands in one sandbox
// (prepare, measure, clean up, with the host's caches dropped in between),
// and workloads that time a sandbox's start need a sandbox they can start;
// a pod per command would lose the files between commands and add a
// sandbox start to every command. The agent measures each command inside
// the sandbox either way, so the transport adds nothing to what is measured.
//
// A sandbox made with Spec.Network is a pod like any other, on the
// cluster's pod network: its link (driver.Network kind "cni") is the pod's
// IP and this host's route to it (the route's device and source address,
// with its MTU and offloads). That reaches the pod where isobench runs on
// a node of the cluster (the node's CNI bridge or routes); the probe has
// a pod listen and this host connect to it, and a runtime whose pods this
// host cannot reach says why (Features network_refused), so the workloads
// that need a link skip it with that reason instead of failing.
//
// Everything made in the cluster carries the label isobench.managed=true,
// the run (isobench.run), the sandbox (isobench.id) and the owner (host,
// pid and process start time, in annotations), so Collect removes exactly
// what isobench processes that no longer run left, and nothing else.
//
// The workload image reaches the nodes without a registry: WriteArchive
// (in package image) makes a docker-archive of it and LoadImage imports it
// into a node's containerd (namespace k8s.io) where the node is this
// machine; elsewhere it is loaded with the cluster's own tools, or taken
// from a registry by reference.
package kube
