package report

import (
	"fmt"
	"strings"

	"github.com/isobench/isobench/internal/analysis"
	"github.com/isobench/isobench/internal/stats"
)

// FormatValue renders a value in its unit, scaled for reading, in the
// words of the analysis (its findings' evidence says values the same way).
func FormatValue(v float64, unit string) string { return analysis.FormatValue(v, unit) }

// ParamsText renders a group's parameters as "k=v k=v", as the analysis
// names them.
func ParamsText(p map[string]string) string { return analysis.ParamsText(p) }

// WarningText renders a summary's warning for people: an outlier warning
// gets its fences and values in the metric's unit (the stats package knows
// no units); any other warning is its message.
func WarningText(w stats.Warning, s stats.Summary, unit string) string {
	if w.Code != stats.CodeOutliers || len(s.Outliers) == 0 {
		return w.Message
	}
	iqr := s.Q3 - s.Q1
	vals := make([]string, 0, len(s.Outliers))
	for i, v := range s.Outliers {
		if i == 10 {
			vals = append(vals, fmt.Sprintf("… (%d more)", len(s.Outliers)-10))
			break
		}
		vals = append(vals, FormatValue(v, unit))
	}
	return fmt.Sprintf("%d of %d values outside Tukey's fences [%s, %s] (1.5×IQR beyond the quartiles): %s",
		len(s.Outliers), s.N, FormatValue(s.Q1-1.5*iqr, unit), FormatValue(s.Q3+1.5*iqr, unit), strings.Join(vals, ", "))
}
