package host

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/driver/driverkit"
)

// procsIn returns the processes (other than this one) whose working
// directory is dir or below it: what an instance of a dead isobench left
// running (its agent, the commands it ran), all started in its scratch
// directory.
func procsIn(dir string) []int {
	var out []int
	for _, p := range driverkit.ScanProcs(func(p driverkit.Proc) bool {
		cwd := strings.TrimSuffix(p.Cwd, " (deleted)")
		return cwd != "" && (cwd == dir || strings.HasPrefix(cwd, dir+"/"))
	}) {
		out = append(out, p.PID)
	}
	return out
}

// killProcsIn sends SIGKILL to the processes working in dir and waits up to
// a few seconds for them to go. It returns a line for each it killed.
func killProcsIn(dir string) ([]string, error) {
	found := procsIn(dir)
	var lines []string
	for _, pid := range found {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			lines = append(lines, fmt.Sprintf("host: killed leftover process %d working in %s", pid, dir))
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(procsIn(dir)) > 0 {
		if time.Now().After(deadline) {
			return lines, fmt.Errorf("host: processes working in %s still run after SIGKILL: %v", dir, procsIn(dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return lines, nil
}

// validate checks a spec before anything is made for it: an id that is a
// plain name (it names a directory and a state record), no negative
// resources, an image root filesystem that exists.
func validate(spec driver.Spec) error {
	id := strings.TrimPrefix(spec.ID, driver.IDPrefix)
	if id == "" || len(spec.ID) > 200 {
		return fmt.Errorf("sandbox id %q: want %q and a name of at most 200 bytes", spec.ID, driver.IDPrefix)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("sandbox id %q: character %q not allowed (letters, digits, '-', '_', '.')", spec.ID, c)
		}
	}
	if spec.CPUs < 0 {
		return fmt.Errorf("negative CPU count %d", spec.CPUs)
	}
	if spec.MemoryBytes < 0 {
		return fmt.Errorf("negative memory size %d", spec.MemoryBytes)
	}
	if spec.CPUs > 0 || spec.MemoryBytes > 0 {
		// A bound recorded in a trial's attributes must be one that was
		// applied; the baseline applies none.
		return fmt.Errorf("the host baseline runs unbounded: it applies no CPU or memory bound (got %v CPUs, %d bytes); bound the sandboxes only: %w", spec.CPUs, spec.MemoryBytes, driver.ErrNotSupported)
	}
	if fi, err := os.Stat(spec.Image.Rootfs); err != nil || !fi.IsDir() {
		return fmt.Errorf("image root filesystem %s is not a directory", spec.Image.Rootfs)
	}
	return nil
}
