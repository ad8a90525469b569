// Package inputfile reads files named by untrusted input (flags, suite
// files) without being led astray by what the name turns out to be.
//
// isobench runs as root, and a path it is given may name a FIFO (opening
// it for reading blocks until a writer comes), a device (/dev/zero never
// ends; opening a tape or a terminal has effects), a socket or a
// directory. An input must be a regular file: Check refuses anything else
// before it is opened, naming the path and what it is, and Open checks
// again on the opened descriptor, which it opens without blocking, so that
// a file swapped in between is refused too. Symbolic links are followed:
// a link to a regular file is a regular file.
package inputfile
