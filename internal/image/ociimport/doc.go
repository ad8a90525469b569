// Package ociimport reads a user's image, the hostile input of isobench
// image import and isobench run --image, and unpacks it safely: Open reads
// an OCI image layout directory, a tar file holding an OCI layout or a
// docker-archive (plain or gzip), or a registry reference, and checks its
// documents; Source.Unpack applies its layers to a root filesystem
// directory, checking each as it goes. It knows nothing of the cache: the
// image package's Import gives it the directory, names the result, adds
// the agent, verifies and publishes it. Nothing of the image runs on the
// host.
//
// isobench runs as root; ociimport promises:
//
//   - Verified blobs. The manifest is checked against the index
//     descriptor that names it, the configuration against the manifest,
//     each layer's stored bytes against the manifest's digest and size,
//     and each layer's uncompressed tar stream against the
//     configuration's diff_id. A docker archive holds no manifest: its
//     configuration is checked against its file name when that is a
//     digest, and its layers against the diff_ids. Documents are checked
//     by Open, before anything is unpacked; layers by Unpack, while
//     they are applied, in the one pass that unpacks them. A mismatch is
//     a DigestError naming the part of the image, the blob's file and
//     both digests.
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
//     files stay sparse. The cache's free space is looked at first
//     (CheckSpace): an image whose layers, as stored, do not fit above
//     Limits.MinFreeSpace is refused, and unpacking stops when the free
//     space falls below it.
//   - Paths no deeper than 256 elements, nor longer than 4096 bytes.
//
// Unpack applies the layers, lowest first, to a fresh root filesystem
// through an os.Root, which no operation can leave, after each
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
// UnpackError naming the layer and the entry.
//
// Reading the image formats and speaking the registry protocol is done by
// go-containerregistry, the library the container tools of the Go world
// (ko, crane, kaniko) read images with: the formats (OCI index and manifest,
// docker-archive, gzip and zstd layers) and the registry's token
// authentication have too many corners to write again. This package
// reads the archive and layout files itself (bounded, refusing special files, in
// place) and hands go-containerregistry the bytes to parse (v1.Parse*) and
// to decompress (partial.CompressedToLayer); it does not use its layout
// and tarball readers, which read whole files without bounds and, for a
// docker archive, read every layer once more to make up a manifest, nor
// validate.Image, which would read every layer once more before
// unpacking. It brings in klauspost/compress (zstd layers), opencontainers/image-spec and go-digest
// (the format's types), golang.org/x/sync, and, through its authn package
// that the remote package needs, the configuration reader of docker/cli with
// docker-credential-helpers (the credential helper protocol) and logrus.
// isobench uses no credentials: pulls are anonymous, and a private image is
// best saved to an archive first (docker save, skopeo copy).
package ociimport
