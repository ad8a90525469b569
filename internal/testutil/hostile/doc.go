// Package hostile makes, for tests, the special files a hostile input path
// may name: a FIFO (opening it for reading blocks until a writer comes)
// and a symbolic link to /dev/zero (reading it never ends); and it checks
// that an output written onto a symbolic link replaced the link. It imports
// nothing of the project's, so that any package's tests can use it.
package hostile
