package driver

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostProcesses is implemented by instances whose sandbox is host
// processes isobench started and can name, such as a VMM: the host cost of
// one sandbox is then the memory of those processes (ReadProcessMemory).
// HostPIDs returns none when the sandbox does not run.
type HostProcesses interface {
	HostPIDs() []int
}

// ProcessMemory is what a host process costs in memory, in bytes.
type ProcessMemory struct {
	// RSS is the resident set: every page mapped and in memory.
	RSS int64
	// PSS is the proportional set: each shared page divided among the
	// processes sharing it, so that the PSS of many sandboxes adds up to
	// what they really cost together.
	PSS int64
}

// ReadProcessMemory reads the resident and proportional set sizes of a
// host process from /proc/PID/smaps_rollup (Linux 4.14 or later).
func ReadProcessMemory(pid int) (ProcessMemory, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/smaps_rollup"
	f, err := os.Open(path)
	if err != nil {
		return ProcessMemory{}, fmt.Errorf("memory of process %d: %w", pid, err)
	}
	defer f.Close()
	m, err := ParseSmapsRollup(f)
	if err != nil {
		return m, fmt.Errorf("memory of process %d: %s: %w", pid, path, err)
	}
	return m, nil
}

// ParseSmapsRollup reads the Rss and Pss lines (in kB) of an smaps_rollup
// text.
func ParseSmapsRollup(r interface{ Read([]byte) (int, error) }) (ProcessMemory, error) {
	var m ProcessMemory
	var seenRSS, seenPSS bool
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 2 || (f[0] != "Rss:" && f[0] != "Pss:") {
			continue
		}
		if len(f) != 3 || f[2] != "kB" {
			return m, fmt.Errorf("line %d: want \"%s N kB\", got %q", line, f[0], sc.Text())
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 0 || n > 1<<42 {
			return m, fmt.Errorf("line %d: bad size %q", line, f[1])
		}
		if f[0] == "Rss:" {
			m.RSS, seenRSS = n*1024, true
		} else {
			m.PSS, seenPSS = n*1024, true
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if !seenRSS || !seenPSS {
		return m, fmt.Errorf("no Rss or Pss line")
	}
	return m, nil
}
