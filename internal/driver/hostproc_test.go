package driver

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestParseSmapsRollup(t *testing.T) {
	b, err := os.ReadFile("testdata/smaps_rollup-bash.txt")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseSmapsRollup(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.PSS <= 0 || m.PSS > m.RSS || m.RSS%1024 != 0 {
		t.Errorf("parsed %+v", m)
	}
	for _, bad := range []string{"", "Rss: 12 kB\n", "Rss: x kB\nPss: 1 kB\n", "Rss: 12 MB\nPss: 1 kB\n"} {
		if _, err := ParseSmapsRollup(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSmapsRollup(%q) accepted it", bad)
		}
	}
}

func TestReadProcessMemory(t *testing.T) {
	m, err := ReadProcessMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS < 1<<20 || m.PSS <= 0 || m.PSS > m.RSS {
		t.Errorf("this test process: %+v", m)
	}
	if _, err := ReadProcessMemory(-1); err == nil {
		t.Error("pid -1 gave no error")
	}
}

func FuzzParseSmapsRollup(f *testing.F) {
	b, _ := os.ReadFile("testdata/smaps_rollup-bash.txt")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSmapsRollup(bytes.NewReader(b))
		if err == nil && (m.RSS < 0 || m.PSS < 0) {
			t.Fatalf("negative sizes %+v", m)
		}
	})
}
