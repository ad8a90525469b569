package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// intFlag is an integer flag with bounds: a value is read in base 10 only
// (pflag's own reads 010 as 8 and 0x10 as 16) and checked against its range
// as the flag is parsed, before anything else happens.
type intFlag struct {
	p      *int
	lo, hi int
}

// newIntFlag sets *p to def and returns the flag value that sets it within
// [lo, hi].
func newIntFlag(p *int, def, lo, hi int) *intFlag {
	*p = def
	return &intFlag{p: p, lo: lo, hi: hi}
}

func (f *intFlag) String() string { return strconv.Itoa(*f.p) }
func (f *intFlag) Type() string   { return "int" }

func (f *intFlag) Set(s string) error {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return errNotWhole
	}
	if err != nil || v < int64(f.lo) || v > int64(f.hi) {
		return fmt.Errorf("out of range: want %d to %d", f.lo, f.hi)
	}
	*f.p = int(v)
	return nil
}

var errNotWhole = errors.New("not a whole number")

// flagError is the root command's flag error function: every problem with
// the flags is a usage error (exit status 2), worded for a person rather
// than as pflag's parser error: `--trials "x": not a whole number`.
func flagError(_ *cobra.Command, err error) error {
	return withStatus(ExitUsage, rewordFlagError(err))
}

func rewordFlagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) || ive.GetFlag() == nil {
		return err
	}
	fl := ive.GetFlag()
	cause := errors.Unwrap(ive)
	why := ""
	var ne *strconv.NumError
	switch {
	case errors.Is(cause, errNotWhole):
		why = errNotWhole.Error()
	case errors.As(cause, &ne):
		switch {
		case errors.Is(ne.Err, strconv.ErrRange):
			why = "out of range"
		case strings.HasPrefix(fl.Value.Type(), "float"):
			why = "not a number"
		case fl.Value.Type() == "bool":
			why = "not true or false"
		default:
			why = errNotWhole.Error()
		}
	case fl.Value.Type() == "duration":
		why = "not a duration such as 90s, 10m or 1h30m"
	case strings.HasSuffix(fl.Value.Type(), "Slice"):
		why = "not a comma-separated list"
	case cause != nil:
		why = cause.Error()
	default:
		return err
	}
	return fmt.Errorf("--%s %q: %s", fl.Name, ive.GetValue(), why)
}

// usageErrors makes every argument error of c and its subcommands a usage
// error (exit status 2): a wrong number of arguments, and an unknown
// subcommand, which cobra would otherwise answer with help and status 0 (for
// a command that only groups others) or with status 1 (for the root).
func usageErrors(c *cobra.Command) {
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = unknownSubcommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return withStatus(ExitUsage, err)
		}
		return nil
	}
}

// unknownSubcommand is the argument check of a command that only groups
// others: an argument left over is a subcommand it does not have.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return errors.New(msg)
}
