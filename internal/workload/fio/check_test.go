package fio

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
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
