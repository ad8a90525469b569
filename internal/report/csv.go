package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the first row of the CSV report.
func CSVHeader() []string {
	return []string{"run", "seq", "runtime", "workload", "params", "warmup", "index", "status",
		"metric", "unit", "value", "start", "end", "error"}
}

// CSV writes every sample of every trial as one row, in base units (tidy
// data, ready for a spreadsheet, R or pandas). Warm-ups are included and
// marked; a trial without samples (a failed one) is one row with its status
// and error and empty metric, unit and value.
func (r *Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return fmt.Errorf("writing CSV report: %w", err)
	}
	for _, t := range r.Run.Trials {
		base := []string{r.Run.ID, strconv.Itoa(t.Seq), t.Cell.Runtime, t.Cell.Workload, ParamsText(t.Cell.Params),
			strconv.FormatBool(t.Warmup), strconv.Itoa(t.Index), string(t.Status)}
		tail := []string{csvTime(t.Start), csvTime(t.End), t.Error}
		if len(t.Samples) == 0 {
			row := append(append(append([]string{}, base...), "", "", ""), tail...)
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("writing CSV report: %w", err)
			}
			continue
		}
		for _, s := range t.Samples {
			row := append(append([]string{}, base...), s.Metric, s.Unit, strconv.FormatFloat(s.Value, 'g', -1, 64))
			if err := cw.Write(append(row, tail...)); err != nil {
				return fmt.Errorf("writing CSV report: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing CSV report: %w", err)
	}
	return nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
