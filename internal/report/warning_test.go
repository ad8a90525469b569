package report

import (
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/stats"
	"github.com/isobench/isobench/internal/workload"
)

func TestWarningText(t *testing.T) {
	many := make([]float64, 12)
	for i := range many {
		many[i] = 10 + float64(i)
	}
	for _, tc := range []struct {
		name string
		w    stats.Warning
		s    stats.Summary
		unit string
		want string
	}{
		{"other warnings keep their message", stats.Warning{Code: stats.CodeHighCV, Message: "noisy"},
			stats.Summary{N: 6}, workload.UnitSeconds, "noisy"},
		{"outliers in seconds", stats.Warning{Code: stats.CodeOutliers, Message: "raw"},
			stats.Summary{N: 6, Q1: 0.001, Q3: 0.002, Outliers: []float64{0.0001, 0.004}}, workload.UnitSeconds,
			"2 of 6 values outside Tukey's fences [-500.0µs, 3.5ms] (1.5×IQR beyond the quartiles): 100.0µs, 4ms"},
		{"outliers in MiB/s", stats.Warning{Code: stats.CodeOutliers},
			stats.Summary{N: 6, Q1: 100 << 20, Q3: 110 << 20, Outliers: []float64{200 << 20}}, workload.UnitBytesPerSec,
			"1 of 6 values outside Tukey's fences [85.00 MiB/s, 125.0 MiB/s] (1.5×IQR beyond the quartiles): 200.0 MiB/s"},
		{"at most ten values listed", stats.Warning{Code: stats.CodeOutliers},
			stats.Summary{N: 40, Q1: 1, Q3: 2, Outliers: many}, "", ""},
		{"an outlier warning without outliers keeps its message", stats.Warning{Code: stats.CodeOutliers, Message: "raw"},
			stats.Summary{N: 6}, workload.UnitSeconds, "raw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WarningText(tc.w, tc.s, tc.unit)
			if tc.want == "" {
				if want := "10.00, 11.00, 12.00, 13.00, 14.00, 15.00, 16.00, 17.00, 18.00, 19.00, … (2 more)"; !strings.HasSuffix(got, want) {
					t.Errorf("got %q, want it to end %q", got, want)
				}
				return
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
