package plan

import "testing"

func TestCheckNames(t *testing.T) {
	for _, tc := range []struct {
		xs   []string
		want string // "" for nil
	}{
		{[]string{"runc", "crun"}, ""},
		{nil, "--runtimes is empty: name one"},
		{[]string{"runc", " "}, "--runtimes runc, : an empty name"},
		{[]string{"runc", "crun", "runc"}, "--runtimes: runc is listed twice"},
	} {
		err := CheckNames("--runtimes", tc.xs, "name one")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckNames(%q): %v, want nil", tc.xs, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("CheckNames(%q): %v, want %q", tc.xs, err, tc.want)
		}
	}
}
