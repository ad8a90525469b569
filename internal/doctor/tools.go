package doctor

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/isobench/isobench/internal/guest"
)

// Tool is one row of the tools table.
type Tool struct {
	Name    string `json:"name"`
	Found   bool   `json:"found"`
	Details string `json:"details"`
	// RuntimesFailing names the runtimes that use the tool and do not
	// work here, so that a tool found is never read as "so they work".
	RuntimesFailing []string `json:"runtimes_failing"`
	uses            []string // runtimes that need the tool
}

// ToolChecks is what the tools table is made of beyond what doctor looks
// up itself (the workload tools in PATH, busybox).
type ToolChecks struct {
	// Agent is the path of the agent binary, or AgentErr why none was
	// found.
	Agent    string
	AgentErr error
	// Root says whether isobench runs as root.
	Root bool
	// VMRows are the rows about VM guests (KVM, the guest kernel), each
	// "NAME\tFOUND\tDETAILS" with FOUND "yes" or "no"; they serve the
	// runtimes that boot guest kernels.
	VMRows []string
}

// AddTools checks the workload tools, the agent, root, KVM and the guest
// kernel, and adds their rows to the report, each naming the runtimes it
// serves that do not work here.
func (rep *Report) AddTools(c ToolChecks) {
	names := make([]string, 0, len(rep.Runtimes))
	for _, r := range rep.Runtimes {
		names = append(names, r.Name)
	}
	rep.Tools = tools(c, names)
	linkTools(rep.Tools, rep.Runtimes)
}

// tools makes the rows of the tools table; names are the runtimes probed,
// for what each tool serves.
func tools(c ToolChecks, names []string) []Tool {
	var out []Tool
	add := func(name string, found bool, details string, uses []string) {
		out = append(out, Tool{Name: name, Found: found, Details: details, RuntimesFailing: []string{}, uses: uses})
	}
	for _, t := range []struct{ name, why string }{
		{"sysbench", "cpu, memory and fileio workloads"},
		{"fio", "fio workload"},
	} {
		if p, err := exec.LookPath(t.name); err == nil {
			add(t.name, true, fmt.Sprintf("%s (%s)", p, t.why), nil)
		} else {
			add(t.name, false, fmt.Sprintf("not in PATH: isobench setup installs it (%s)", t.why), nil)
		}
	}
	found, d := staticCheck("/bin/busybox", "isobench setup installs busybox-static")
	// busybox and the agent serve every runtime: a runtime that fails
	// for want of them says so in its own reason.
	add("busybox", found, d, nil)
	if c.AgentErr != nil {
		add("isobench-agent", false, c.AgentErr.Error(), nil)
	} else {
		found, d := staticCheck(c.Agent, "rebuild it with CGO_ENABLED=0")
		add("isobench-agent", found, d, nil)
	}
	if !c.Root {
		add("root", false, "most runtimes need root: run isobench as root", nil)
	}
	vms := vmRuntimes(names)
	for _, row := range c.VMRows {
		f := strings.SplitN(row, "\t", 3)
		for len(f) < 3 {
			f = append(f, "")
		}
		add(f[0], f[1] == "yes", f[2], vms)
	}
	return out
}

// vmRuntimes are the runtimes among names that boot guest kernels, whose
// tools are KVM and the guest kernel.
func vmRuntimes(names []string) []string {
	var out []string
	for _, n := range names {
		base, _, _ := strings.Cut(n, ":")
		switch base {
		case guest.VMMQemuMicrovm, guest.VMMQemuVM, guest.VMMFirecracker, guest.VMMCloudHypervisor:
			out = append(out, n)
		}
	}
	return out
}

// linkTools makes the tools table agree with the runtime rows: a tool
// found names the runtimes it serves that do not work here, so that
// "found" is never read as "so they work".
func linkTools(tools []Tool, rts []Runtime) {
	works := map[string]bool{}
	for _, r := range rts {
		works[r.Name] = r.Works
	}
	for i := range tools {
		t := &tools[i]
		if t.RuntimesFailing == nil {
			t.RuntimesFailing = []string{} // [] in JSON, never null
		}
		if !t.Found {
			continue
		}
		for _, u := range t.uses {
			if ok, probed := works[u]; probed && !ok {
				t.RuntimesFailing = append(t.RuntimesFailing, u)
			}
		}
	}
}

// toolNote says, on a tool's line, which runtimes that use it do not work.
func toolNote(t Tool) string {
	if len(t.RuntimesFailing) == 0 {
		return ""
	}
	verb := "does"
	if len(t.RuntimesFailing) > 1 {
		verb = "do"
	}
	return fmt.Sprintf("but %s %s not work here (see above)", strings.Join(t.RuntimesFailing, ", "), verb)
}

// staticCheck says whether path exists and is a static executable, and
// what was found.
func staticCheck(path, fix string) (bool, string) {
	f, err := elf.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, path + " not found: " + fix
		}
		return false, path + ": " + err.Error()
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, path + " is dynamically linked: " + fix
		}
	}
	return true, path + " (static)"
}
