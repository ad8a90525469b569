// Package netperf is the net workload: the network between the host and a
// sandbox, over a link isobench makes for it.
//
// Each trial makes a fresh sandbox with driver.Spec.Network: a /30 link of
// its own (package driver/sandboxnet; a veth pair into the sandbox's
// network namespace for the host baseline and the OCI runtimes, a tap
// device for VMMs), whose ends the driver names (driver.Networker). The
// host baseline's processes run in such a namespace too, so that its
// figures are those of the same link without isolation. Runtimes whose
// driver offers no link (no driver.FeatureNetwork) are skipped with the
// reason. gVisor's runsc uses its own network stack where it starts and
// otherwise the host kernel's inside the sandbox's namespace (hostinet);
// the trial keeps which (net.note).
//
// Figures:
//
//   - rtt, rtt_p99: round trips of one byte on one TCP connection (Nagle
//     off) between isobench on the host and the agent's echo server
//     (`agent pong`) in the sandbox, timed one by one on the host; the
//     trial's figures are their median and 99th percentile;
//   - connect: the median time of a TCP connect from the host to the
//     sandbox, over the connections of the trial;
//   - to_sandbox, from_sandbox: bulk TCP throughput for `time` seconds each
//     way. With tool=agent (the default) isobench listens on the host end
//     and the agent (`agent stream`) connects from the sandbox; the host
//     times the transfer from accept to the end (sending: until the agent
//     has written back how many bytes it read). With tool=iperf3 an
//     iperf3 server runs on the host end and the image's iperf3 client in
//     the sandbox (-R for host to sandbox), and its JSON report gives the
//     receiver's rate and the retransmits (iperf3 3.12 fails under gVisor's
//     hostinet: reads on its control socket return EAGAIN).
//
// What comes back from the sandbox (reports, counts) is parsed as hostile
// input. The servers in the sandbox listen in its own namespace or guest,
// so they clash with nothing; the host side binds the link's host address
// only.
package netperf
