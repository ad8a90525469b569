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
// docker-archive (plain or gzip), or a registry reference. The layers are
// applied, lowest first, to a fresh root filesystem in the cache through an
// os.Root, which no operation can leave, after each entry has been checked:
// names with ".." or a leading "/" are refused, as are entries written
// through a symbolic link, symbolic links that climb out of the image, hard
// links to anything but a regular file already in it, device nodes and
// named pipes, and files or layers over the size limits (Limits). An
// absolute link target means the image's own root inside the sandbox; it is
// rewritten as the same path relative to the link, so that no link of an
// imported image can lead the host's own tools to the host's files (real
// images are full of such links: the dynamic loader, /etc/localtime,
// /etc/alternatives). Set-user-ID and set-group-ID bits are dropped, since
// the cache is readable by every user of the host. Whiteouts follow the OCI
// layer format. A refused entry is an UnpackError naming the layer and the
// entry. The agent is then added at AgentPath, the directories sandboxes
// mount over are made where the image lacks them, and the result must pass
// Verify before it is published under an ID derived from the image's
// configuration digest and the agent. Nothing of the image runs on the host.
//
// Reading the image formats and speaking the registry protocol is done by
// go-containerregistry, the library the container tools of the Go world
// (ko, crane, kaniko) read images with: the formats (OCI index and manifest,
// docker-archive, gzip and zstd layers) and the registry's token
// authentication have too many corners to write again. It brings in
// klauspost/compress (zstd layers), opencontainers/image-spec and go-digest
// (the format's types), golang.org/x/sync, and, through its authn package
// that the remote package needs, the configuration reader of docker/cli with
// docker-credential-helpers (the credential helper protocol) and logrus.
// isobench uses no credentials: pulls are anonymous, and a private image is
// best saved to an archive first (docker save, skopeo copy).
//
// # Guest files for VMs
//
// VM runtimes boot a guest kernel kept in CACHE/kernels/ID (ImportKernel,
// FetchKernel, DefaultKernel): the kernel as given, an ELF vmlinux (given,
// or extracted from the bzImage), its recorded release and configuration,
// the modules guests need (the closure of GuestModules, in load order, read
// from each module's .modinfo) and an initramfs (a newc cpio written with
// cavaliergopher/cpio) whose /init loads the modules the host names on the
// kernel command line, mounts the root disk and hands over to the agent as
// PID 1. CheckKernel says whether a kernel fits a VMM and names everything
// it lacks. GuestDisk makes, on first use and without mounting anything
// (mkfs.ext4 -d), an ext4 disk of an image's root file system, kept beside
// the rootfs and shared read-only by every guest.
package image
