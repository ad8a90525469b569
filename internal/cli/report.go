package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/outputfile"
	"github.com/isobench/isobench/internal/report"
)

func (a *app) reportCommand() *cobra.Command {
	var format, out string
	var names []string
	for _, f := range report.Formats() {
		names = append(names, string(f))
	}
	cmd := &cobra.Command{
		Use:   "report ID",
		Short: "Write a stored run's report: text, JSON, CSV, Markdown, Go benchmark format or HTML",
		Long: `Write the report of a stored run (its identifier, a unique prefix, or "latest").

Formats:
  text      the terminal tables, the environment, the method and failed trials
  json      everything: the run, environment, analysis, figures' data and every trial
  csv       one row per sample, in base units
  markdown  the tables, environment and method for a pull request or wiki
  bench     Go benchmark format: benchstat reads it (benchstat -col runtime FILE)
  html      one self-contained page with the study's figures as SVG charts

Without --format the format comes from the extension of -o (.txt, .json, .csv,
.md, .bench, .html), and is text on standard output.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("output") && out == "" {
				return withStatus(ExitUsage, errors.New("--output is empty: give a file, or - for standard output"))
			}
			return a.report(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], format, out)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "report format: "+strings.Join(names, ", "))
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func (a *app) report(ctx context.Context, stdout, stderr io.Writer, ref, format, out string) error {
	f := report.FormatText
	switch {
	case format != "":
		var err error
		if f, err = report.ParseFormat(format); err != nil {
			return withStatus(ExitUsage, err)
		}
	case out != "" && out != "-":
		f = report.FormatOf(out)
	}
	if out != "-" {
		if err := outputfile.Check("--output", out); err != nil {
			return withStatus(ExitUsage, err)
		}
	}
	run, err := a.loadRun(ctx, ref)
	if err != nil {
		return err
	}
	if out == "" || out == "-" {
		return report.Build(run, builtin.Workloads()).Write(stdout, f)
	}
	if err := writeReport(out, run, f); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s report of run %s to %s\n", f, run.ID, out)
	return nil
}
