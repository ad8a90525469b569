package hostinfo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseOSRelease parses os-release(5): KEY=value lines, values optionally
// quoted with shell-style escapes. Lines that are not assignments are
// ignored.
func ParseOSRelease(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		out[k] = unquote(v)
	}
	return out
}

// unquote removes one level of shell quoting from an os-release value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		q := v[0]
		v = v[1 : len(v)-1]
		if q == '"' {
			var b strings.Builder
			for i := 0; i < len(v); i++ {
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("\"\\$`", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
			v = b.String()
		}
	}
	return v
}

// osName picks the most telling name from os-release fields.
func osName(f map[string]string) string {
	if n := f["PRETTY_NAME"]; n != "" {
		return n
	}
	n := strings.TrimSpace(f["NAME"] + " " + f["VERSION"])
	if n == "" {
		n = strings.TrimSpace(f["ID"] + " " + f["VERSION_ID"])
	}
	return n
}

// CPUInfo is what isobench reads from /proc/cpuinfo.
type CPUInfo struct {
	Model string
	// Processors counts the "processor" entries.
	Processors int
	// Cores counts distinct (physical id, core id) pairs and Sockets
	// distinct physical ids; 0 when the file does not give them (e.g. on
	// arm64).
	Cores, Sockets int
	// Hypervisor is true when the CPU flags include "hypervisor": the
	// kernel runs as a guest.
	Hypervisor bool
}

// ParseCPUInfo parses /proc/cpuinfo of x86, arm64, ppc64 and s390x kernels.
func ParseCPUInfo(text string) CPUInfo {
	var ci CPUInfo
	type core struct{ pkg, id string }
	cores := map[core]bool{}
	pkgs := map[string]bool{}
	var pkg, coreID string
	flush := func() {
		if pkg != "" && coreID != "" {
			cores[core{pkg, coreID}] = true
		}
		if pkg != "" {
			pkgs[pkg] = true
		}
		pkg, coreID = "", ""
	}
	var fallback string
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if strings.TrimSpace(line) == "" {
				flush()
			}
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			if _, err := strconv.Atoi(v); err == nil {
				ci.Processors++
			} else if ci.Model == "" && v != "" {
				ci.Model = v // s390x and some arm: "processor 0: version = ..."
			}
		case "model name", "Model", "cpu model", "cpu":
			if ci.Model == "" && v != "" {
				ci.Model = v
			}
		case "vendor_id", "CPU implementer", "Hardware":
			if fallback == "" {
				fallback = k + " " + v
			}
		case "physical id":
			pkg = v
		case "core id":
			coreID = v
		case "flags", "Features":
			for _, f := range strings.Fields(v) {
				if f == "hypervisor" {
					ci.Hypervisor = true
				}
			}
		}
	}
	flush()
	if ci.Model == "" {
		ci.Model = fallback
	}
	ci.Cores, ci.Sockets = len(cores), len(pkgs)
	return ci
}

// maxCPUs bounds CPU numbers in a CPU list, far above any real machine, so
// that a hostile list cannot make ParseCPUList allocate without bound.
const maxCPUs = 1 << 16

// ParseCPUList parses a kernel CPU list such as "0-3,8,10-11".
func ParseCPUList(text string) ([]int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(text, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 || a >= maxCPUs {
			return nil, fmt.Errorf("CPU list %q: bad CPU number %q", text, lo)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b >= maxCPUs {
				return nil, fmt.Errorf("CPU list %q: bad range %q", text, part)
			}
		}
		if len(out)+b-a+1 > maxCPUs {
			return nil, fmt.Errorf("CPU list %q: more than %d CPUs", text, maxCPUs)
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}

// ParseMemTotal returns MemTotal from /proc/meminfo, in bytes.
func ParseMemTotal(text string) (int64, error) {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("meminfo: MemTotal line %q: want a number and kB", strings.TrimSpace(line))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt64/1024 {
			return 0, fmt.Errorf("meminfo: MemTotal %q is not a size in kB", f[0])
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("meminfo: no MemTotal line")
}

// ParseLoadavg returns the 1, 5 and 15 minute load averages from
// /proc/loadavg (or from the first three fields of any such line).
func ParseLoadavg(text string) ([]float64, error) {
	f := strings.Fields(text)
	if len(f) < 3 {
		return nil, fmt.Errorf("loadavg %q: want three load averages", strings.TrimSpace(text))
	}
	out := make([]float64, 3)
	for i := range out {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("loadavg %q: field %d (%q) is not a load average", strings.TrimSpace(text), i+1, f[i])
		}
		out[i] = v
	}
	return out, nil
}

// CgroupLayout judges the cgroup layout from /proc/self/mountinfo: CgroupV2
// when only cgroup2 is mounted, CgroupHybrid when v1 hierarchies and a
// cgroup2 hierarchy are both mounted, CgroupV1 when only v1 ones are, and
// "" when no cgroup file system is mounted.
func CgroupLayout(mountinfo string) string {
	v1, v2 := false, false
	for _, line := range strings.Split(mountinfo, "\n") {
		// Optional fields end with " - "; the file system type follows.
		_, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		fstype, _, _ := strings.Cut(post, " ")
		switch fstype {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = true
		}
	}
	switch {
	case v1 && v2:
		return CgroupHybrid
	case v1:
		return CgroupV1
	case v2:
		return CgroupV2
	}
	return ""
}
