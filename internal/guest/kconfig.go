package guest

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// maxKconfigLine bounds one line of a kernel configuration file.
const maxKconfigLine = 64 << 10

// KernelConfig is a kernel's build configuration: option name (with the
// CONFIG_ prefix) to value, "y", "m", a number or a quoted string. An
// option that is "not set" is absent.
type KernelConfig map[string]string

// ParseKernelConfig reads a kernel .config file. Comments and blank lines
// are skipped; any other line that is not CONFIG_NAME=VALUE is an error
// naming the line.
func ParseKernelConfig(r io.Reader) (KernelConfig, error) {
	cfg := KernelConfig{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxKconfigLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") || len(name) == len("CONFIG_") || !kconfigName(name) {
			return nil, fmt.Errorf("kernel config line %d: want CONFIG_NAME=VALUE, got %q", n, clipText(line, 80))
		}
		cfg[name] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel config line %d: %w", n+1, err)
	}
	return cfg, nil
}

func kconfigName(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// State returns "y" (built in), "m" (a module) or "" (not set) for a
// tristate or bool option.
func (c KernelConfig) State(option string) string {
	switch v := c[option]; v {
	case "y", "m":
		return v
	}
	return ""
}
