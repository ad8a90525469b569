// Package outputfile writes the files a user names for isobench's output
// (a run's JSON and report, report -o, an exported image) without being
// led astray by what is at the path.
//
// isobench runs as root, and a symbolic link planted where its output goes
// must not make it overwrite the file the link names: Write writes a
// temporary file beside the path and renames it into place, replacing a
// link rather than writing through it, and leaves nothing behind when the
// write fails. Check says before any work whether the path can take the
// file, refusing a directory, FIFO, device or socket there. It is the
// output side of inputfile.
package outputfile
