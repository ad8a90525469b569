package hostinfo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in
// /proc/PID/stat; it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// CPUWatch measures the CPU time other work used on the host while a trial
// ran: every process's user and system time at the start and at the end of
// an interval, less what belongs to isobench. A process is isobench's when
// it, or one of its ancestors, is the isobench process itself or names
// isobench in its command line, or when its cgroup path names isobench —
// which covers the sandboxes' own processes (agent, workload tools, runtime
// shims and sentries, VMMs), whose command lines carry the sandbox's
// isobench- name or the agent's path. Kernel threads are left out: during
// file workloads they mostly do the trial's own writeback. Processes that
// start and end within the interval are not seen.
type CPUWatch struct {
	proc  string
	self  int
	start time.Time
	ticks map[int]uint64
}

// StartCPUWatch takes the first reading. proc is the procfs mount ("" for
// /proc) and self the pid of the isobench process.
func StartCPUWatch(proc string, self int) *CPUWatch {
	if proc == "" {
		proc = "/proc"
	}
	w := &CPUWatch{proc: proc, self: self, start: time.Now()}
	w.ticks = map[int]uint64{}
	for pid, st := range readStats(proc) {
		w.ticks[pid] = st.ticks
	}
	return w
}

// OtherLoad is what other work used during a watched interval.
type OtherLoad struct {
	// Cores is the average number of CPUs other processes kept busy.
	Cores float64
	// Top names the busiest other processes, with their share of a CPU.
	Top []string
}

// Stop takes the second reading and returns the other load.
func (w *CPUWatch) Stop() OtherLoad {
	elapsed := time.Since(w.start).Seconds()
	if elapsed <= 0 {
		return OtherLoad{}
	}
	now := readStats(w.proc)
	ours := map[int]bool{}
	var isOurs func(pid int, depth int) bool
	isOurs = func(pid, depth int) bool {
		if v, ok := ours[pid]; ok {
			return v
		}
		st, ok := now[pid]
		switch {
		case !ok || pid <= 1 || depth > 64:
			return false
		case pid == w.self || st.isobench:
			ours[pid] = true
			return true
		}
		v := isOurs(st.ppid, depth+1)
		ours[pid] = v
		return v
	}
	type use struct {
		name  string
		cores float64
	}
	var uses []use
	total := 0.0
	for pid, st := range now {
		if st.kernel || isOurs(pid, 0) {
			continue
		}
		before := w.ticks[pid] // 0 for a process born during the interval
		if st.ticks < before {
			continue // pid reused
		}
		c := float64(st.ticks-before) / clockTicks / elapsed
		if c <= 0 {
			continue
		}
		total += c
		uses = append(uses, use{st.comm, c})
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].cores > uses[j].cores })
	out := OtherLoad{Cores: total}
	for i, u := range uses {
		if i == 3 {
			break
		}
		out.Top = append(out.Top, fmt.Sprintf("%s %.0f%%", u.name, u.cores*100))
	}
	return out
}

type procStat struct {
	comm     string
	ppid     int
	ticks    uint64
	kernel   bool
	isobench bool
}

// readStats reads every process's stat, and whether it names isobench.
func readStats(proc string) map[int]procStat {
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	out := make(map[int]procStat, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		st, ok := ParseProcStat(b)
		if !ok {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		st.kernel = len(cmd) == 0 && (st.ppid == 2 || pid == 2)
		if bytes.Contains(cmd, []byte("isobench")) {
			st.isobench = true
		} else if cg, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil && bytes.Contains(cg, []byte("isobench")) {
			st.isobench = true
		}
		out[pid] = st
	}
	return out
}

// ParseProcStat reads the command name, parent pid and user+system clock
// ticks from the text of /proc/PID/stat. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func ParseProcStat(b []byte) (procStat, bool) {
	s := string(b)
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, false
	}
	f := strings.Fields(s[closing+1:])
	// After the name: state(0) ppid(1) ... utime(11) stime(12).
	if len(f) < 13 {
		return procStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	stt, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, false
	}
	return procStat{comm: s[open+1 : closing], ppid: ppid, ticks: ut + stt}, true
}
