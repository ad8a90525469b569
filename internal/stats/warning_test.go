package stats

import "testing"

func TestWarningString(t *testing.T) {
	if got := (Warning{Code: CodeHighCV, Message: "noisy"}).String(); got != "high-cv: noisy" {
		t.Errorf("String() = %q", got)
	}
}
