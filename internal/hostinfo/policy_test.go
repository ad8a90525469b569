package hostinfo

import (
	"math"
	"strings"
	"testing"

	"github.com/isobench/isobench/internal/warning"
)

func TestGovernorWarning(t *testing.T) {
	for _, tc := range []struct {
		name      string
		governors []string
		want      string // "" for no warning, else a part of the message
	}{
		{"none exposed", nil, ""},
		{"all performance", []string{"performance", " performance\n", "Performance"}, ""},
		{"one powersave", []string{"performance", "powersave"}, "on 1 of 2 CPUs (powersave on 1)"},
		{"mixed", []string{"schedutil", "powersave", "schedutil", "performance"}, "on 3 of 4 CPUs (powersave on 1, schedutil on 2)"},
		{"unreadable", []string{""}, "unknown on 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := GovernorWarning(tc.governors)
			switch {
			case tc.want == "" && w != nil:
				t.Errorf("unexpected warning %v", *w)
			case tc.want != "" && (w == nil || w.Code != CodeGovernor || !strings.Contains(w.Message, tc.want)):
				t.Errorf("warning %v, want code %s with %q", w, CodeGovernor, tc.want)
			}
		})
	}
}

func TestLoadWarning(t *testing.T) {
	for _, tc := range []struct {
		load  float64
		cores int
		code  string // "" for no warning
	}{
		{0.1, 2, ""},
		{0.5, 2, ""},                     // the floor of 0.5
		{0.6, 2, warning.CodeHostLoad},   // above the floor
		{3.2, 32, ""},                    // 10% of 32 cores
		{3.3, 32, warning.CodeHostLoad},  // above 10%
		{0, 1, ""},                       // idle
		{1, 0, warning.CodeInvalidInput}, // no cores
		{math.NaN(), 4, warning.CodeInvalidInput},
		{-1, 4, warning.CodeInvalidInput},
		{math.Inf(1), 4, warning.CodeInvalidInput},
	} {
		w := LoadWarning(tc.load, tc.cores)
		if (w == nil) != (tc.code == "") || (w != nil && w.Code != tc.code) {
			t.Errorf("LoadWarning(%v, %d) = %v, want code %q", tc.load, tc.cores, w, tc.code)
		}
	}
	if w := LoadWarning(1.5, 4); w == nil || !strings.Contains(w.Message, "1.50 on 4 cores exceeds 0.50") {
		t.Errorf("message should give the load, the cores and the limit: %v", w)
	}
}
