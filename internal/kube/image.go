package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/isobench/isobench/internal/image"
)

// CRINamespace is the containerd namespace the kubelet's container runtime
// (containerd's CRI) keeps its images in.
const CRINamespace = "k8s.io"

// LoadImage imports the workload image, tagged ref, into the containerd
// that listens at address (a node's container runtime on this machine), in
// the namespace of its CRI, unless it has the image already. It runs
// containerd's ctr tool, streaming a docker-archive of the image (see
// image.WriteArchive) to it; temporary files go to tmpDir. It returns
// whether it imported anything.
func LoadImage(ctx context.Context, img *image.Image, ref, address, tmpDir string) (bool, error) {
	ctr, err := exec.LookPath("ctr")
	if err != nil {
		return false, fmt.Errorf("loading the image into containerd at %s: containerd's ctr tool is not in PATH (Debian package containerd): %w", address, err)
	}
	has, err := hasImage(ctx, ctr, address, ref)
	if err != nil || has {
		return false, err
	}
	cmd := exec.CommandContext(ctx, ctr, "--address", address, "--namespace", CRINamespace, "images", "import", "-")
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("loading the image into containerd at %s: %w", address, err)
	}
	werr := image.WriteArchive(ctx, pw, img, ref, image.ArchiveConfig{}, tmpDir)
	pw.CloseWithError(werr)
	rerr := cmd.Wait()
	pr.Close()
	if werr != nil {
		return false, fmt.Errorf("loading the image into containerd at %s: %w", address, werr)
	}
	if rerr != nil {
		return false, fmt.Errorf("loading the image into containerd at %s: ctr images import: %w: %s", address, rerr, clip(strings.TrimSpace(out.String()), 1000))
	}
	if has, err := hasImage(ctx, ctr, address, ref); err != nil || !has {
		return false, errors.Join(err, fmt.Errorf("loading the image into containerd at %s: ctr reported no error but has no image %s: %s", address, ref, clip(out.String(), 1000)))
	}
	return true, nil
}

// hasImage reports whether the containerd at address holds ref in the CRI
// namespace.
func hasImage(ctx context.Context, ctr, address, ref string) (bool, error) {
	out, err := exec.CommandContext(ctx, ctr, "--address", address, "--namespace", CRINamespace, "images", "list", "--quiet", "name=="+ref).CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("listing the images of containerd at %s: %w: %s", address, err, clip(strings.TrimSpace(string(out)), 500))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == ref {
			return true, nil
		}
	}
	return false, nil
}
