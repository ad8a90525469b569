package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/isobench/isobench/internal/plan"
	"github.com/isobench/isobench/internal/result"
)

// TestRunSuiteFile runs a suite file with the real binary: its runtimes,
// sandbox options, parameters, trials, seed and time limits are the run's.
func TestRunSuiteFile(t *testing.T) {
	e := newE2E(t, "runc")
	suite := filepath.Join(e.base, "suite.yaml")
	if err := os.WriteFile(suite, []byte(`
version: 1
trials: 2
warmups: 0
seed: 11
timeout: 2m
runtimes:
  - host
  - name: runc
    cpus: 1
    memory: 256MiB
workloads:
  - name: cpu
    params:
      time: 1
      max-prime: 2000
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := e.command(context.Background(), "suite", "check", suite).CombinedOutput()
	if err != nil || !strings.Contains(string(out), suite+": ok: 2 runtimes (host, runc) × 1 workloads (cpu) = 2 cells, 4 trials") {
		t.Fatalf("isobench suite check: %v\n%s", err, out)
	}
	r := e.start("run", "-f", suite, "--agent", e.agent)
	if code := r.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("isobench run -f exited %d:\n%s", code, r.output())
	}
	run := e.stored(t, r.runID)
	if run.Seed != 11 || len(run.Trials) != 4 {
		t.Fatalf("stored run: seed %d, %d trials; want the file's seed 11 and 4 trials", run.Seed, len(run.Trials))
	}
	var s plan.Suite
	if err := json.Unmarshal([]byte(run.Suite), &s); err != nil {
		t.Fatal(err)
	}
	if s.Options["runc"].CPUs != 1 || s.Options["runc"].MemoryBytes != 256<<20 || s.Timeout.String() != "2m0s" {
		t.Errorf("stored suite %+v lacks the file's options and timeout", s)
	}
	for _, tr := range run.Trials {
		if tr.Status != result.StatusOK {
			t.Errorf("trial %d on %s: %s %s", tr.Seq, tr.Cell.Runtime, tr.Status, tr.Error)
		}
		if tr.Cell.Params["max-prime"] != "2000" || tr.Attrs["trial.timeout"] != "2m0s" {
			t.Errorf("trial %d: params %v, timeout %q; want the file's", tr.Seq, tr.Cell.Params, tr.Attrs["trial.timeout"])
		}
		if tr.Cell.Runtime == "runc" && (tr.Attrs["sandbox.cpus"] != "1" || tr.Attrs["sandbox.memory_bytes"] != "268435456") {
			t.Errorf("runc trial %d attributes %v: want the sandbox bounds of the file", tr.Seq, tr.Attrs)
		}
	}

	// A bad file stops the run before anything starts, saying where.
	bad := filepath.Join(e.base, "bad.yaml")
	os.WriteFile(bad, []byte("workloads: [cpu]\ntrials: many\n"), 0o644)
	out, err = e.command(context.Background(), "run", "-f", bad).CombinedOutput()
	want := bad + `:2:9: trials: want an integer, got "many"`
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("run -f with a bad file: %v\n%s\nwant %q", err, out, want)
	}
}

// TestRunImportedImage runs the cpu workload from a user's image: a
// docker archive of a root filesystem holding sysbench (here, that of the
// image isobench builds from this host), on runc and the host. The host
// baseline would run the image's programs as root on the host: without
// --trust-image the run is refused before anything is imported, and a
// hostile image's sysbench never runs on the host.
func TestRunImportedImage(t *testing.T) {
	e := newE2E(t, "runc")
	out, err := e.command(context.Background(), "image", "build", "--agent", e.agent).CombinedOutput()
	if err != nil {
		t.Fatalf("isobench image build: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^rootfs (\S+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no rootfs in:\n%s", out)
	}
	rootfs := string(m[1])
	archive := filepath.Join(e.base, "user-image.tar")
	writeDockerArchive(t, rootfs, archive, nil)

	// A hostile image: its sysbench is a script that leaves a mark on
	// whatever file system it runs on.
	mark := filepath.Join(e.base, "hostile-ran-here")
	hostile := filepath.Join(e.base, "hostile-image.tar")
	writeDockerArchive(t, rootfs, hostile, map[string]string{
		"usr/bin/sysbench": "#!/bin/sh\nid -u > " + mark + "\ncat /etc/shadow >> " + mark + "\n",
	})
	base := []string{"--workloads", "cpu", "--set", "cpu.time=1", "--set", "cpu.max-prime=2000", "--trials", "1", "--warmups", "0", "--agent", e.agent}
	for _, tc := range []struct {
		name, image, runtimes string
		trust                 bool
		code                  int
		want                  string
	}{
		{"hostile on host", hostile, "host", false, 2, "--trust-image"},
		{"hostile on host and runc", hostile, "host,runc", false, 2, "runs the image's programs as root on this host"},
		{"hostile on every runtime", hostile, "", false, 2, "--trust-image"},
		{"hostile on runc", hostile, "runc", false, -1, ""},
		{"genuine, trusted", archive, "host,runc", true, 0, "docker archive " + archive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--image", tc.image}, base...)
			if tc.runtimes != "" {
				args = append(args, "--runtimes", tc.runtimes)
			}
			if tc.trust {
				args = append(args, "--trust-image")
			}
			r := e.start(args...)
			code := r.wait(t, 3*time.Minute)
			if tc.code >= 0 && code != tc.code {
				t.Fatalf("isobench %s exited %d, want %d:\n%s", strings.Join(args, " "), code, tc.code, r.output())
			}
			if !strings.Contains(r.output(), tc.want) {
				t.Errorf("the output does not say %q:\n%s", tc.want, r.output())
			}
			if b, err := os.ReadFile(mark); err == nil {
				t.Fatalf("the hostile image's sysbench ran on the host: %s", b)
			}
			if tc.code == 2 {
				if r.runID != "" {
					t.Errorf("a refused run was stored as %s", r.runID)
				}
				if n := cachedImages(t, e.cache); n != 1 {
					t.Errorf("a refused run imported the image: the cache holds %d images, want the 1 built", n)
				}
				return
			}
			if tc.code != 0 {
				return
			}
			run := e.stored(t, r.runID)
			if len(run.Trials) != 2 {
				t.Fatalf("%d trials, want 2", len(run.Trials))
			}
			for _, tr := range run.Trials {
				if tr.Status != result.StatusOK {
					t.Errorf("trial on %s from the imported image: %s %s", tr.Cell.Runtime, tr.Status, tr.Error)
				}
			}
		})
	}
}

// cachedImages counts the images in a cache directory.
func cachedImages(t *testing.T, cache string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cache, "images"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// writeDockerArchive makes a one-layer image of a directory and writes it
// as `docker save` would; replace gives other contents (executable) for
// some paths of the directory.
func writeDockerArchive(t *testing.T, dir, file string, replace map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, _ = filepath.Rel(dir, p)
		if body, ok := replace[hdr.Name]; ok {
			hdr = &tar.Header{Name: hdr.Name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err := io.WriteString(tw, body)
			return err
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("isobench-test/user:1")
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatal(err)
	}
}
