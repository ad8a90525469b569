// Package filecopy copies a file to a new one. It is the one copy that the
// layers of isobench share (the kernel cache of the guest package, the
// probe sandboxes of the drivers), kept below both so that neither needs
// the other.
package filecopy
