package analysis

import (
	"fmt"
	"math"
	"strconv"

	"github.com/isobench/isobench/internal/result"
	"github.com/isobench/isobench/internal/workload"
)

// ParamsText renders a group's parameters as "k=v k=v".
func ParamsText(p map[string]string) string {
	s := result.ParamString(p)
	if s == "" {
		return ""
	}
	out := []byte(s[1:])
	for i := range out {
		if out[i] == ';' {
			out[i] = ' '
		}
	}
	return string(out)
}

// FormatValue renders a value in its unit, scaled for reading.
func FormatValue(v float64, unit string) string {
	switch unit {
	case workload.UnitSeconds:
		if v == 0 {
			return "0s"
		}
		units := []struct {
			below, scale float64
			suffix       string
		}{{1e-6, 1e9, "ns"}, {1e-3, 1e6, "µs"}, {1, 1e3, "ms"}, {math.Inf(1), 1, "s"}}
		i := 0
		for math.Abs(v) >= units[i].below {
			i++
		}
		out := trim(v * units[i].scale)
		// A value just below the next unit can round up to 1000 of this
		// one (0.99996 s is "1000.0ms"): say it in the next unit.
		if r, err := strconv.ParseFloat(out, 64); err == nil && math.Abs(r) >= 1000 && i+1 < len(units) {
			i++
			out = trim(v * units[i].scale)
		}
		return out + units[i].suffix
	case workload.UnitBytesPerSec:
		return trim(v/(1<<20)) + " MiB/s"
	case workload.UnitBytes:
		return trim(v/(1<<20)) + " MiB"
	case workload.UnitOpsPerSec:
		return trim(v) + "/s"
	default:
		return trim(v)
	}
}

// trim prints v with four significant digits, without a trailing exponent
// for ordinary magnitudes.
func trim(v float64) string {
	av := math.Abs(v)
	switch {
	case av >= 1e7:
		return fmt.Sprintf("%.4g", v)
	case av >= 1000:
		return fmt.Sprintf("%.0f", v)
	case av >= 100:
		return fmt.Sprintf("%.1f", v)
	case av >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
