// Package linkpath describes, in words, the host devices a sandbox's
// network traffic crosses: each device's kind, MTU and the offloads the
// kernel has on for it (checksums, scatter-gather, TSO, GSO, GRO), read
// through netlink and the ethtool ioctl. Drivers put the description in
// driver.Network.Path, so that every network result carries the path it
// was measured over. It only reads; it changes nothing on the host.
package linkpath
