// Package sandboxnet makes the network link between the host and a sandbox
// that drivers give a sandbox made with driver.Spec.Network (see
// driver.Network for the contract): a veth pair into a network namespace
// of the sandbox's own for runtimes that join a namespace (OCI runtimes,
// the host baseline), or a tap device for a VMM.
//
// Every link is a /30 of Range (169.254.128.0/17, link-local: never
// routed, so it cannot clash with a network the host reaches): the host
// end has .1, the sandbox end .2. Nothing else is configured: no default
// route, no bridge, no NAT, so the sandbox reaches the host's end of its
// own link and nothing more.
//
// Names and records. A link's slot (its /30) is reserved by writing its
// state record, <StateDir>/net/slot-N.json, exclusively, before anything
// is made; the record names the owner process (pid and start time), the
// sandbox id, the host device "isbN" (interface names are too short for
// the isobench- prefix, so the device's alias is set to the sandbox id)
// and, for a veth link, the network namespace, which is named by the
// sandbox id under /run/netns (so `ip netns list` shows it). A slot whose
// device already exists (another isobench with another state directory)
// is skipped. Remove deletes the device (its veth peer goes with it), the
// namespace, and last the record; it only deletes a device whose alias is
// the link's sandbox id. Collect does the same for the records of owners
// that no longer run (isobench gc), and never touches a live process's
// links.
//
// The network namespace is made on an OS thread locked for the purpose
// and never handed back to the Go scheduler, so no other goroutine can
// find itself in it; the devices inside are configured through a netlink
// handle bound to the namespace (github.com/vishvananda/netlink).
package sandboxnet
