package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// TypeSyscalls is the message type of the syscalls mode's report.
const TypeSyscalls = "syscalls"

// Syscall operations the syscalls mode measures.
const (
	OpGetpid    = "getpid"    // getpid(2): the cheapest round trip into the kernel
	OpRead      = "read"      // pread64(2) of ReadSize bytes at offset 0 of a file
	OpOpenClose = "openclose" // openat(2) of a file read-only, then close(2)
)

// SyscallOps lists the operations in the order they are measured.
func SyscallOps() []string { return []string{OpGetpid, OpRead, OpOpenClose} }

// ReadSize is the size of each read of the read operation.
const ReadSize = 64

// SyscallReport is what `agent syscalls` prints: one JSON line.
type SyscallReport struct {
	Type string `json:"type"`
	// File is the file the read and openclose operations use.
	File string `json:"file"`
	// Calls is the number of calls in each round of each operation.
	Calls int             `json:"calls"`
	Ops   []SyscallResult `json:"ops"`
}

// SyscallResult is one operation's measurement: the time of each round of
// Calls calls, on the sandbox's monotonic clock, divided by Calls.
type SyscallResult struct {
	Op string `json:"op"`
	// RoundNanos holds each round's time per call, in nanoseconds.
	RoundNanos []float64 `json:"round_ns"`
	// MedianNanos is the median of RoundNanos.
	MedianNanos float64 `json:"median_ns"`
}

// mainSyscalls measures the cost of simple system calls in a tight loop:
// `syscalls [-n CALLS] [-rounds R] [-ops getpid,read,openclose] [-file PATH]`.
func mainSyscalls(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("syscalls", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 100000, "calls per round")
	rounds := fs.Int("rounds", 5, "rounds of each operation")
	ops := fs.String("ops", strings.Join(SyscallOps(), ","), "operations, comma-separated")
	file := fs.String("file", "", "file to read and open (default: the agent's own executable)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("syscalls: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("syscalls: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *n > 1e9 {
		return fmt.Errorf("syscalls: -n %d: want 1 to 10⁹ calls", *n)
	}
	if *rounds < 1 || *rounds > 1000 {
		return fmt.Errorf("syscalls: -rounds %d: want 1 to 1000", *rounds)
	}
	path := *file
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("syscalls: finding the agent's own file: %w", err)
		}
		path = exe
	}
	rep, err := MeasureSyscalls(strings.Split(*ops, ","), path, *n, *rounds)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// MeasureSyscalls times each operation in rounds of n calls. The calls
// are raw system calls (syscall.RawSyscall: no Go scheduler hand-off around
// them), made from one locked OS thread, so that what is timed is the
// kernel's (or gVisor's, or the guest kernel's) cost plus the loop.
func MeasureSyscalls(ops []string, file string, n, rounds int) (SyscallReport, error) {
	rep := SyscallReport{Type: TypeSyscalls, File: file, Calls: n}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fd, err := syscall.Open(file, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return rep, fmt.Errorf("syscalls: opening %s: %w", file, err)
	}
	defer syscall.Close(fd)
	var buf [ReadSize]byte
	if got, err := syscall.Pread(fd, buf[:], 0); err != nil || got != ReadSize {
		return rep, fmt.Errorf("syscalls: %s must have at least %d bytes to read (read %d: %v)", file, ReadSize, got, err)
	}
	name, err := syscall.BytePtrFromString(file)
	if err != nil {
		return rep, fmt.Errorf("syscalls: file name: %w", err)
	}
	for _, op := range ops {
		op = strings.TrimSpace(op)
		var loop func(n int) error
		switch op {
		case OpGetpid:
			loop = func(n int) error {
				for i := 0; i < n; i++ {
					syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
				}
				return nil
			}
		case OpRead:
			p := uintptr(unsafe.Pointer(&buf[0]))
			loop = func(n int) error {
				for i := 0; i < n; i++ {
					r, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(fd), p, ReadSize, 0, 0, 0)
					if e != 0 || r != ReadSize {
						return fmt.Errorf("pread64: %d bytes, %v", r, e)
					}
				}
				return nil
			}
		case OpOpenClose:
			at := uintptr(unsafe.Pointer(name))
			loop = func(n int) error {
				for i := 0; i < n; i++ {
					// AT_FDCWD is -100; the path is absolute or relative
					// to the working directory either way.
					atFDCWD := -100
					r, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(atFDCWD), at, syscall.O_RDONLY|syscall.O_CLOEXEC, 0, 0, 0)
					if e != 0 {
						return fmt.Errorf("openat: %v", e)
					}
					syscall.RawSyscall(syscall.SYS_CLOSE, r, 0, 0)
				}
				return nil
			}
		default:
			return rep, fmt.Errorf("syscalls: unknown operation %q (known: %s)", op, strings.Join(SyscallOps(), ", "))
		}
		// One short untimed round first: page faults, first-use costs.
		if err := loop(min(n, 1000)); err != nil {
			return rep, fmt.Errorf("syscalls: %s: %w", op, err)
		}
		res := SyscallResult{Op: op}
		for r := 0; r < rounds; r++ {
			start := time.Now()
			if err := loop(n); err != nil {
				return rep, fmt.Errorf("syscalls: %s: %w", op, err)
			}
			res.RoundNanos = append(res.RoundNanos, float64(time.Since(start).Nanoseconds())/float64(n))
		}
		res.MedianNanos = median(res.RoundNanos)
		rep.Ops = append(rep.Ops, res)
	}
	return rep, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// maxSyscallRounds bounds the rounds a report may hold.
const maxSyscallRounds = 1000

// ParseSyscallReport reads the report of `agent syscalls` from its output:
// exactly one JSON line of type TypeSyscalls, each operation once, with
// finite positive times. What comes from a sandbox is not trusted: anything
// else is an error that says what was seen.
func ParseSyscallReport(text string) (SyscallReport, error) {
	var rep SyscallReport
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var lines [][]byte
	for sc.Scan() {
		if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
			lines = append(lines, append([]byte(nil), b...))
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("syscalls report: %w", err)
	}
	if len(lines) != 1 {
		return rep, fmt.Errorf("syscalls report: want one JSON line, got %d lines (starts %q)", len(lines), clip(text, 80))
	}
	dec := json.NewDecoder(bytes.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("syscalls report: %w (line starts %q)", err, clip(string(lines[0]), 80))
	}
	if rep.Type != TypeSyscalls {
		return rep, fmt.Errorf("syscalls report: message type %q, want %q", clip(rep.Type, 40), TypeSyscalls)
	}
	if rep.Calls < 1 {
		return rep, fmt.Errorf("syscalls report: %d calls per round", rep.Calls)
	}
	if len(rep.Ops) == 0 {
		return rep, errors.New("syscalls report: no operation measured")
	}
	seen := map[string]bool{}
	for _, op := range rep.Ops {
		if seen[op.Op] {
			return rep, fmt.Errorf("syscalls report: operation %q twice", clip(op.Op, 40))
		}
		seen[op.Op] = true
		if len(op.RoundNanos) == 0 || len(op.RoundNanos) > maxSyscallRounds {
			return rep, fmt.Errorf("syscalls report: %s: %d rounds, want 1 to %d", clip(op.Op, 40), len(op.RoundNanos), maxSyscallRounds)
		}
		for _, v := range append([]float64{op.MedianNanos}, op.RoundNanos...) {
			if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || v > 1e12 {
				return rep, fmt.Errorf("syscalls report: %s: time per call %v ns is not a plausible time", clip(op.Op, 40), v)
			}
		}
		if m := median(op.RoundNanos); math.Abs(m-op.MedianNanos) > 1e-6*m {
			return rep, fmt.Errorf("syscalls report: %s: median %v ns is not the median of its rounds (%v ns)", clip(op.Op, 40), op.MedianNanos, m)
		}
	}
	return rep, nil
}
