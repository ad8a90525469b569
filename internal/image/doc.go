// Package image builds the workload image: a root filesystem holding the
// isobench agent, the workload tools (sysbench, fio, iperf3, a static busybox) and
// every shared library they load, resolved from the ELF files' dynamic
// sections and the dynamic loader's search path.
//
// Images are content-addressed in the user's cache directory: the ID is a
// digest of every input file and of the recipe, so a build is skipped when
// nothing changed, and every sandbox and the host baseline run the very same
// bytes. A built image is read-only; drivers lay copy-on-write views over it.
//
// # What an image holds
//
// The agent is at AgentPath. Each tool keeps its host path (a tool outside
// the standard command directories is also linked from /usr/local/bin; one
// in a directory the image keeps empty, such as /tmp, is copied to
// /usr/local/bin). Busybox is at /bin/busybox with a link in /bin for each
// of its applets that does not clash with a tool. Libraries are found as the
// glibc dynamic loader finds them: DT_NEEDED entries searched in DT_RPATH
// (when there is no DT_RUNPATH), DT_RUNPATH (both with $ORIGIN), the
// directories of /etc/ld.so.conf and its includes, and the loader's
// built-in directories; recursively, skipping files of another ELF class or
// machine. Every symlink met on the way to a file, such as /lib -> usr/lib or
// libfoo.so.1 -> libfoo.so.1.2.3, stays a symlink, so paths inside the image
// match the host. /etc has passwd, group and hosts; /proc, /sys, /dev, /run,
// /scratch, /tmp and /var/tmp (both mode 1777) are empty.
//
// Libraries a program opens at run time with dlopen are not seen, and the
// image has no loader cache: Manifest.LibraryDirs says where the libraries
// are, for the rare host whose loader would need LD_LIBRARY_PATH to find them.
//
// # The cache
//
// Images live in CACHE/images/ID, with the root filesystem in rootfs/ and
// the manifest in manifest.json, written last: an image directory without a
// manifest is incomplete and is rebuilt. Build writes into a temporary
// directory beside it and renames it into place while holding an flock on
// CACHE/images/.lock, so concurrent isobench processes neither race nor
// see half-built images. Open, Lookup and List read images back; Prune
// removes those no longer wanted.
//
// # Checking an image
//
// Verify checks that an image is self-contained — the agent present and
// static, every ELF file's interpreter and libraries resolvable inside the
// image, every symlink resolvable, every listed file unchanged — and says
// what is missing. Build runs it on every new image before publishing it.
//
// # Importing a user's image
//
// Import takes the image from the user instead (isobench run --image): an
// OCI image layout directory, a tar file holding an OCI layout or a
// docker-archive (plain or gzip), or a registry reference. An imported
// image is hostile input, and isobench runs as root: package ociimport
// reads it, verifying every blob, and unpacks its layers within the
// limits (ImportOptions.Limits) into a fresh root filesystem in the cache,
// refusing whatever could reach outside it; its doc says what it checks
// and refuses. The image's documents are checked before the cache lock is
// taken. A mismatch (ociimport.DigestError) or a refused entry
// (ociimport.UnpackError) keeps nothing: the import's directory is
// removed and nothing is published.
//
// An imported image's ID covers what was verified: the manifest's digest
// and the configuration's (which names every layer's diff_id); a docker
// archive's covers its configuration's alone. An altered image never gets
// a genuine image's ID, so the cache never serves one for the other. The
// agent is added at AgentPath, the directories sandboxes mount over are
// made where the image lacks them, and the result must pass Verify before
// it is published. Nothing of the image runs on the host.
//
// Prune and PruneImages remove cached images, and what interrupted builds
// and imports left; RemoveImage removes one. They wait for no one: they
// fail when a build or import holds the cache lock, and leave an image a
// running isobench holds (Hold).
//
// # What is not here
//
// What a VM boots besides the image (the guest kernel, its modules, the
// initramfs and the ext4 root disk made from an image's rootfs) is the
// guest package's; it uses this one, never the reverse. The cache's lock,
// publishing and leftovers are package cachedir's, shared with guest.
package image
