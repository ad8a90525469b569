package image

// SourceHost is the Manifest.Source of an image that isobench built from
// this machine's own files (Build). Every other image was imported.
const SourceHost = "host"

// FromHost reports whether img was built by isobench from this machine's
// own tools and libraries, as opposed to imported from an image a user
// gave. Only such an image is trusted to run its programs as root on the
// host: an imported image's files are data to the host, and only
// isolation runtimes run them unless the user says otherwise (see
// driver.Env.TrustImage).
func (img *Image) FromHost() bool {
	return img != nil && img.Manifest.Source == SourceHost
}
