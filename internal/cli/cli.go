package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/isobench/isobench/internal/builtin"
	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/image"
	"github.com/isobench/isobench/internal/inputfile"
	"github.com/isobench/isobench/internal/store"
)

// Exit statuses.
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitRegression = 3 // compare --fail-above: a metric regressed past the bound
	// ExitUnjudged: compare could not judge a cell (missing from a run, no
	// successful trial, too few trials), so a gate must not pass; and run
	// ended with no successful trial, or with a cell whose every trial
	// failed.
	ExitUnjudged    = 4
	ExitInterrupted = 130
)

// Env is what the program is given by the outside world.
type Env struct {
	Getenv     func(string) string
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
	Executable string // path of the running isobench binary
	Version    string
	UID        int
	// Hurry is closed when the user interrupts a second time: what is in
	// flight is then freed at once, without graceful stops, still
	// completely. The first interrupt ends the context given to Main. Nil
	// never hurries.
	Hurry <-chan struct{}
}

// exitError carries an exit status through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withStatus wraps err so Main exits with code.
func withStatus(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// Main runs isobench with args (without the program name) and returns the
// exit status.
func Main(ctx context.Context, args []string, env Env) int {
	app := &app{env: env, args: args}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(env.Stderr, "isobench:", err)
	var ee *exitError
	switch {
	case ctx.Err() != nil:
		// Whatever failed on the way out, the user stopped isobench.
		return ExitInterrupted
	case errors.As(err, &ee):
		return ee.code
	}
	return ExitError
}

// app holds what every subcommand shares: the environment and global flags.
type app struct {
	env      Env
	args     []string
	cacheDir string
	stateDir string
	dbPath   string

	// kvm is the process's one KVM decision, made on first use and
	// shared by every VM driver and doctor (driver.Env.KVM); kvmDir is
	// the run directory it was made for.
	kvm    driver.KVMDecider
	kvmDir string
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "isobench",
		Short: "Measure what isolation costs",
		Long: `isobench runs the same workloads, from the same image, on the bare host and on
every isolation technology the host has (OCI runtimes, engines, system
containers, microVMs), and reports each one's overhead against the host with
honest statistics.`,
		Version:       a.env.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.cacheDir, "cache-dir", "", "where built images are kept (default: the user's cache directory)")
	root.PersistentFlags().StringVar(&a.stateDir, "state-dir", "", "where isobench tracks what it made on this host (default /var/lib/isobench as root)")
	root.PersistentFlags().StringVar(&a.dbPath, "db", "", "results database (default: the user's data directory)")
	root.AddCommand(
		a.runCommand(),
		a.doctorCommand(),
		a.setupCommand(),
		a.imageCommand(),
		a.gcCommand(),
		a.suiteCommand(),
		a.runsCommand(),
		a.reportCommand(),
		a.compareCommand(),
		a.kubeCommand(),
	)
	// Every mistake on the command line exits with ExitUsage: a flag's
	// value, an unknown flag or subcommand, a wrong number of arguments.
	root.SetFlagErrorFunc(flagError)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd(a.args...)
	usageErrors(root)
	return root
}

// cache returns isobench's cache directory.
func (a *app) cache() (string, error) {
	if a.cacheDir != "" {
		return a.cacheDir, nil
	}
	return image.DefaultCacheDir(a.env.Getenv)
}

// driverEnv returns where drivers keep state records and per-instance files,
// and the process's KVM decision. Both directories live on a disk (not
// /run, often a tmpfs): the overlay upper layers in the run directory are
// where the rootfs scratch of containers lives. They are made here, as
// root, before any driver runs, with the modes unprivileged system
// containers need (builtin.PrepareDirs); a run directory an older
// isobench made 0700 is repaired.
func (a *app) driverEnv() (driver.Env, error) {
	base := a.stateDir
	if base == "" {
		if a.env.UID == 0 {
			base = "/var/lib/isobench"
		} else {
			dir := a.env.Getenv("XDG_STATE_HOME")
			if dir == "" {
				home := a.env.Getenv("HOME")
				if home == "" {
					return driver.Env{}, errors.New("neither XDG_STATE_HOME nor HOME is set: cannot place isobench's state directory (use --state-dir)")
				}
				dir = filepath.Join(home, ".local", "state")
			}
			base = filepath.Join(dir, "isobench")
		}
	}
	env := driver.Env{StateDir: filepath.Join(base, "state"), RunDir: filepath.Join(base, "run")}
	if err := builtin.PrepareDirs(base, env.RunDir, env.StateDir, a.env.UID == 0); err != nil {
		return driver.Env{}, err
	}
	if cache, err := a.cache(); err == nil {
		env.CacheDir = cache
	}
	if a.kvm == nil || a.kvmDir != env.RunDir {
		a.kvm, a.kvmDir = builtin.KVM(env.RunDir), env.RunDir
	}
	env.KVM = a.kvm
	return env, nil
}

// storePath returns the path of the results database: --db, else the
// default.
func (a *app) storePath() (string, error) {
	if a.dbPath != "" {
		return a.dbPath, nil
	}
	return store.DefaultPath(a.env.Getenv)
}

// checkStore refuses, before any work, a results database path that names
// something other than a regular file (a FIFO would block its opening, a
// device never end its reading); a path with nothing there is fine, the
// database is made there.
func (a *app) checkStore() error {
	path, err := a.storePath()
	if err != nil {
		return err
	}
	if err := inputfile.CheckIfExists(path); err != nil {
		if a.dbPath != "" {
			return withStatus(ExitUsage, fmt.Errorf("--db %w", err))
		}
		return fmt.Errorf("the results database %w", err)
	}
	return nil
}

// openStore opens the results database.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	if err := a.checkStore(); err != nil {
		return nil, err
	}
	path, err := a.storePath()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the results database: %w", err)
	}
	return db, nil
}

// agentPath finds the static agent binary: beside the isobench executable,
// else in PATH.
func (a *app) agentPath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if a.env.Executable != "" {
		p := filepath.Join(filepath.Dir(a.env.Executable), "isobench-agent")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	for _, dir := range filepath.SplitList(a.env.Getenv("PATH")) {
		p := filepath.Join(dir, "isobench-agent")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("the agent binary isobench-agent is neither beside isobench nor in PATH; build it with: CGO_ENABLED=0 go build -o bin/ ./cmd/... (or pass --agent)")
}
