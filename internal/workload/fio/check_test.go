package fio

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/testutil/hostile"
	"github.com/isobench/isobench/internal/workload"
)

func defaults(set map[string]string) map[string]string {
	p, err := workload.Resolve(FIO{}, "quick", nil)
	if err != nil {
		panic(err)
	}
	maps.Copy(p, set)
	return p
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.fio", "[j]\nrw=read\nsize=1m\n")
	tests := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"job": "randrw", "bs": "64k", "size": "1g", "direct": "true", "ioengine": "libaio", "iodepth": "16"}, ""},
		{map[string]string{"job": JobProfile, "profile": good}, ""},
		{nil, "lists several jobs"},
		{map[string]string{"job": "read"}, `parameter job: "read" is not one of`},
		{map[string]string{"job": "seqread", "bs": "4x"}, "parameter bs"},
		{map[string]string{"job": "seqread", "size": "0"}, "parameter size"},
		{map[string]string{"job": "seqread", "iodepth": "0"}, "parameter iodepth"},
		{map[string]string{"job": "seqread", "ioengine": "../x"}, "parameter ioengine"},
		{map[string]string{"job": "seqread", "scratch": "ram"}, "parameter scratch"},
		{map[string]string{"job": "seqread", "profile": good}, "a cell with a profile has job=profile"},
		{map[string]string{"job": JobProfile, "profile": filepath.Join(dir, "missing.fio")}, "no such file"},
		{map[string]string{"job": JobProfile, "profile": dir}, "not a regular file"},
		{map[string]string{"job": JobProfile, "profile": write("nul.fio", "[j]\nrw=read\x00\n")}, "line 2: a NUL byte"},
		{map[string]string{"job": JobProfile, "profile": write("empty.fio", " \n")}, "is empty"},
		{map[string]string{"job": JobProfile, "profile": write("big.fio", strings.Repeat("; x\n", MaxProfile))}, "more than the 65536 accepted"},
		{map[string]string{"job": JobProfile, "profile": write("latin1.fio", "[j]\n; caf\xe9\n")}, "not UTF-8"},
	}
	for _, tc := range tests {
		err := FIO{}.Check(driver.Info{}, defaults(tc.set))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
}

// TestCheckBounds: the built-in jobs' numbers and sizes are held to
// their bounds, a value just inside taken and one just beyond, or one
// that overflows, refused naming the parameter and the bound.
func TestCheckBounds(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"time", "1", ""},
		{"time", "86400", ""},
		{"time", "86401", "parameter time: 86401 is out of range: want 1 to 86400"},
		{"time", "0", "parameter time: 0 is out of range"},
		{"time", "-1", "parameter time: -1 is out of range"},
		{"time", "99999999999999999999", `parameter time: "99999999999999999999" is out of range`},
		{"time", "0x10", `parameter time: "0x10" is not a whole number`},
		{"time", "", `parameter time: "" is not a whole number`},
		{"iodepth", "65536", ""},
		{"iodepth", "65537", "parameter iodepth: 65537 is out of range: want 1 to 65536"},
		{"iodepth", "0", "parameter iodepth: 0 is out of range"},
		{"numjobs", "1024", ""},
		{"numjobs", "1025", "parameter numjobs: 1025 is out of range: want 1 to 1024"},
		{"numjobs", "100000000", "parameter numjobs: 100000000 is out of range"},
		{"numjobs", "two", `parameter numjobs: "two" is not a whole number`},
		{"bs", "512", ""},
		{"bs", "1g", ""},
		{"bs", "1GiB", ""},
		{"bs", "1024m", ""},
		{"bs", "1073741824", ""},
		{"bs", "1073741825", `parameter bs: "1073741825" is more than 1g, the most taken`},
		{"bs", "1025m", `parameter bs: "1025m" is more than 1g`},
		{"bs", "2g", `parameter bs: "2g" is more than 1g`},
		{"bs", "1t", `parameter bs: "1t" is more than 1g`},
		{"bs", "99999999999999999999999", `parameter bs: "99999999999999999999999" is more than 1g`},
		{"bs", "0", "not a size in fio's syntax"},
		{"bs", "4x", "not a size in fio's syntax"},
		{"size", "4t", ""},
		{"size", "4TiB", ""},
		{"size", "4096g", ""},
		{"size", "4097g", `parameter size: "4097g" is more than 4t, the most taken`},
		{"size", "5T", `parameter size: "5T" is more than 4t`},
		{"size", "1p", `parameter size: "1p" is more than 4t`},
		{"size", "16777216p", `parameter size: "16777216p" is more than 4t`},
		{"size", "18446744073709551615", `parameter size: "18446744073709551615" is more than 4t`},
		{"size", "-1", "not a size in fio's syntax"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			err := FIO{}.Check(driver.Info{}, defaults(map[string]string{"job": "seqread", tc.name: tc.value}))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestProfileSpecialFiles: a job file that is a FIFO, a device or a link
// to one is refused at once, naming the path and what it is; opening the
// FIFO for reading would block for good.
func TestProfileSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := hostile.FIFO(t, dir, "job.fio")
	link := hostile.LinkToZero(t, dir, "zero.fio")
	for path, want := range map[string]string{
		fifo:        "parameter profile: " + fifo + ": a FIFO (named pipe), not a regular file",
		"/dev/zero": "parameter profile: /dev/zero: a character device, not a regular file",
		link:        "parameter profile: " + link + ": a character device, not a regular file",
	} {
		done := make(chan error, 1)
		go func() {
			done <- FIO{}.Check(driver.Info{}, defaults(map[string]string{"job": JobProfile, "profile": path}))
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("profile %s: error %v, want %q", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("profile %s: Check blocked", path)
		}
	}
}

func TestSweep(t *testing.T) {
	sets, err := FIO{}.Sweep(defaults(map[string]string{"job": "randread, seqwrite"}))
	if err != nil || len(sets) != 2 || sets[0]["job"] != "randread" || sets[1]["job"] != "seqwrite" {
		t.Fatalf("sweep = %v, %v", sets, err)
	}
	sets, err = FIO{}.Sweep(defaults(map[string]string{"profile": "/x.fio"}))
	if err != nil || len(sets) != 1 || sets[0]["job"] != JobProfile {
		t.Fatalf("sweep with a profile = %v, %v", sets, err)
	}
	for _, bad := range []string{"seqread,seqread", "seqread,", "scan"} {
		if _, err := (FIO{}).Sweep(defaults(map[string]string{"job": bad})); err == nil {
			t.Errorf("job=%q swept without error", bad)
		}
	}
}

// TestArgs checks the fio command of a built-in job and of a job file.
func TestArgs(t *testing.T) {
	a, err := args(defaults(map[string]string{"job": "randwrite", "direct": "true"}), "/scratch/j.fio")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(a, " ")
	for _, want := range []string{"--output-format=json", "--group_reporting", "--percentile_list=50:95:99", "--rw=randwrite", "--direct=1", "--time_based", "--runtime=2", "--size=32m"} {
		if !strings.Contains(got, want) {
			t.Errorf("command %q lacks %q", got, want)
		}
	}
	a, err = args(defaults(map[string]string{"job": JobProfile, "profile": "/home/u/j.fio"}), "/scratch/j.fio")
	if err != nil {
		t.Fatal(err)
	}
	if a[len(a)-1] != "/scratch/j.fio" || strings.Contains(strings.Join(a, " "), "--rw=") {
		t.Errorf("profile command %q", a)
	}
}
