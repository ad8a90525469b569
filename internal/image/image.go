package image

import "time"

// AgentPath is where the agent lives inside every workload image.
const AgentPath = "/.isobench/agent"

// Image is a built workload image in the cache.
type Image struct {
	// ID is the content address: a hex digest of every input.
	ID string `json:"id"`
	// Dir is the image's directory in the cache.
	Dir string `json:"dir"`
	// Rootfs is the root filesystem directory; sandboxes get copy-on-write
	// views of it and must never write to it.
	Rootfs string `json:"rootfs"`
	// Manifest says what the image holds.
	Manifest Manifest `json:"manifest"`
	// Built is when the image was written to the cache.
	Built time.Time `json:"built"`
	// Reused is true when Build found the image already complete in the
	// cache and wrote nothing. It is a fact about one call, never stored.
	Reused bool `json:"-"`
}

// Manifest records what went into an image.
type Manifest struct {
	// Source is "host" for an image built from this machine's files, or the
	// reference of an imported OCI image.
	Source string `json:"source"`
	// Tools maps each workload tool to its version as it reports it, e.g.
	// "sysbench": "sysbench 1.0.20"; an image built from host files also
	// has "busybox" (its banner) and "agent" (the agent's version line).
	Tools map[string]string `json:"tools,omitempty"`
	// ToolPaths maps each workload tool, and "busybox", to the path inside
	// the image that runs it, e.g. "sysbench": "/usr/bin/sysbench".
	ToolPaths map[string]string `json:"tool_paths,omitempty"`
	// Files lists every file copied in, by path inside the image, with the
	// host path it came from and its digest.
	Files []File `json:"files,omitempty"`
	// Interpreter is the ELF program interpreter (dynamic loader) path inside
	// the image, when the image's tools need one.
	Interpreter string `json:"interpreter,omitempty"`
	// LibraryDirs are the directories inside the image that hold shared
	// libraries, in search order: the loader configuration's directories
	// that libraries were found in, then the loader's built-in directories.
	// A sandbox needs LD_LIBRARY_PATH only when the first kind are outside
	// the second, since an image has no loader cache.
	LibraryDirs []string `json:"library_dirs,omitempty"`
}

// File is one file of an image built from host files. Source is empty for
// a file the builder generated (such as /etc/passwd).
type File struct {
	Path   string `json:"path"`
	Source string `json:"source,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}
