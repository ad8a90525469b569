package sysbench

import (
	"maps"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/driver"
	"github.com/isobench/isobench/internal/workload"
)

func defaults(w workload.Workload, set map[string]string) map[string]string {
	p, err := workload.Resolve(w, "quick", nil)
	if err != nil {
		panic(err)
	}
	maps.Copy(p, set)
	return p
}

func TestMemoryCheck(t *testing.T) {
	tests := []struct {
		set  map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"operation": "read", "access-mode": "rnd", "scope": "local", "block-size": "4K"}, ""},
		{map[string]string{"operation": "none"}, `parameter operation: "none" is not one of read, write`},
		{map[string]string{"access-mode": "random"}, "parameter access-mode"},
		{map[string]string{"block-size": "1Q"}, "parameter block-size"},
		{map[string]string{"total-size": "0"}, "parameter total-size: 0 is below the minimum"},
		{map[string]string{"threads": "0"}, "parameter threads"},
		{map[string]string{"time": "-1"}, "parameter time"},
	}
	for _, tc := range tests {
		err := Memory{}.Check(driver.Info{}, defaults(Memory{}, tc.set))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
}

func TestFileIOCheck(t *testing.T) {
	tests := []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"mode": "seqrd"}, ""},
		{map[string]string{"mode": "rndrw", "io-mode": "mmap", "o-direct": "true", "scratch": "volume", "drop-caches": "true"}, ""},
		{nil, "lists several modes"},
		{map[string]string{"mode": "seqread"}, `parameter mode: "seqread" is not one of`},
		{map[string]string{"mode": "seqrd", "io-mode": "fast"}, "parameter io-mode"},
		{map[string]string{"mode": "seqrd", "scratch": "nfs"}, "parameter scratch"},
		{map[string]string{"mode": "seqrd", "o-direct": "yes please"}, "parameter o-direct"},
		{map[string]string{"mode": "seqrd", "block-size": "1000", "o-direct": "true"}, "multiple of 512"},
		{map[string]string{"mode": "seqrd", "file-num": "1000", "file-total-size": "1M"}, "smaller than one block"},
		{map[string]string{"mode": "seqrd", "file-num": "0"}, "parameter file-num"},
		{map[string]string{"mode": "seqrd", "time": "0"}, "parameter time"},
		{map[string]string{"mode": "seqrd", "block-size": "2G"}, "more than 1G"},
	}
	for _, tc := range tests {
		err := FileIO{}.Check(driver.Info{}, defaults(FileIO{}, tc.set))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v: error %v, want %q", tc.set, err, tc.want)
		}
	}
}

// TestFileIOArgs checks the sysbench command a cell runs: sizes in bytes
// (sysbench reads --file-block-size as a plain integer: "16K" would be 16),
// O_DIRECT as an extra flag.
func TestFileIOArgs(t *testing.T) {
	a, err := FileIO{}.args(defaults(FileIO{}, map[string]string{"mode": "rndwr", "o-direct": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(a, " ")
	for _, want := range []string{"--file-total-size=67108864", "--file-block-size=16384", "--file-test-mode=rndwr", "--file-extra-flags=direct", "--time=2", "--file-num=128", "--file-fsync-freq=100"} {
		if !strings.Contains(got, want) {
			t.Errorf("command %q lacks %q", got, want)
		}
	}
}
