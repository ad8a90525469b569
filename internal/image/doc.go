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
// image is hostile input, and isobench runs as root; Import promises:
//
//   - Verified blobs. The manifest is checked against the index
//     descriptor that names it, the configuration against the manifest,
//     each layer's stored bytes against the manifest's digest and size,
//     and each layer's uncompressed tar stream against the
//     configuration's diff_id. A docker archive holds no manifest: its
//     configuration is checked against its file name when that is a
//     digest, and its layers against the diff_ids. Documents are checked
//     before anything is unpacked and before the cache lock is taken;
//     layers while they are applied, in the one pass that unpacks them. A
//     mismatch is a DigestError naming the part of the image, the blob's
//     file and both digests, and nothing is kept: the import's directory
//     is removed and nothing is published.
//   - An ID that covers what was verified: the manifest's digest and the
//     configuration's (which names every layer's diff_id); a docker
//     archive's covers its configuration's alone. An altered image never
//     gets a genuine image's ID, so the cache never serves one for the
//     other.
//   - Bounded reads. index.json, oci-layout, a docker archive's
//     manifest.json, manifests, indexes and configurations are read whole
//     only up to 4 MiB, after their descriptor's size has been checked;
//     each layer blob's size must be the one its descriptor gives.
//   - No special files. Every file read (the archive, or the layout's
//     oci-layout, index.json and blobs) is looked at before it is opened
//     and must be a regular file: a named pipe, a device such as
//     /dev/zero, a socket, or (inside a layout) a symbolic link is
//     refused without blocking. Files are opened without blocking and
//     checked again on the descriptor.
//   - Archives read in place. A tar file is not extracted: its entries
//     are read where they lie (a gzip archive is read again from its
//     start for each one), so a blob no index or manifest names is never
//     written, nor even read.
//   - Limits (Limits) on one file, on the whole image and on its entries,
//     settable by the user (isobench image import --max-file-size,
//     --max-image-size, --max-entries). A file's size is the one its tar
//     header gives — a sparse file's full size — and is checked before
//     anything is written; runs of zeros are written as holes, so sparse
//     files stay sparse. The cache's free space is looked at first: an
//     image whose layers, as stored, do not fit above Limits.MinFreeSpace
//     is refused, and unpacking stops when the free space falls below it.
//   - Paths no deeper than 256 elements, nor longer than 4096 bytes.
//
// The layers are applied, lowest first, to a fresh root filesystem in the
// cache through an os.Root, which no operation can leave, after each
// entry has been checked: names with ".." or a leading "/" are refused, as
// are entries written through a symbolic link, symbolic links that climb
// out of the image, hard links to anything but a regular file already in
// it, device nodes and named pipes. An absolute link target means the
// image's own root inside the sandbox; it is rewritten as the same path
// relative to the link, so that no link of an imported image can lead the
// host's own tools to the host's files (real images are full of such
// links: the dynamic loader, /etc/localtime, /etc/alternatives).
// Set-user-ID and set-group-ID bits are dropped, since the cache is
// readable by every user of the host, and so is write permission for group
// and others, since no user of the host may change what sandboxes run;
// sticky directories (/tmp, 1777) keep their mode, which a sandbox needs.
// Whiteouts follow the OCI layer format. A refused entry is an
// UnpackError naming the layer and the entry. The agent is then added at
// AgentPath, the directories sandboxes mount over are made where the image
// lacks them, and the result must pass Verify before it is published.
// Nothing of the image runs on the host.
//
// Prune and PruneImages remove cached images, and what interrupted builds
// and imports left; RemoveImage removes one. They wait for no one: they
// fail when a build or import holds the cache lock, and leave an image a
// running isobench holds (Hold).
//
// Reading the image formats and speaking the registry protocol is done by
// go-containerregistry, the library the container tools of the Go world
// (ko, crane, kaniko) read images with: the formats (OCI index and manifest,
// docker-archive, gzip and zstd layers) and the registry's token
// authentication have too many corners to write again. isobench reads
// the archive and layout files itself (bounded, refusing special files, in
// place) and hands go-containerregistry the bytes to parse (v1.Parse*) and
// to decompress (partial.CompressedToLayer); it does not use its layout
// and tarball readers, which read whole files without bounds and, for a
// docker archive, read every layer once more to make up a manifest, nor
// validate.Image, which would read every layer once more before unpacking. It brings in
// klauspost/compress (zstd layers), opencontainers/image-spec and go-digest
// (the format's types), golang.org/x/sync, and, through its authn package
// that the remote package needs, the configuration reader of docker/cli with
// docker-credential-helpers (the credential helper protocol) and logrus.
// isobench uses no credentials: pulls are anonymous, and a private image is
// best saved to an archive first (docker save, skopeo copy).
//
// # What is not here
//
// What a VM boots besides the image (the guest kernel, its modules, the
// initramfs and the ext4 root disk made from an image's rootfs) is the
// guest package's; it uses this one, never the reverse. The cache's lock,
// publishing and leftovers are package cachedir's, shared with guest.
package image
