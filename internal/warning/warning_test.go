package warning

import "testing"

func TestString(t *testing.T) {
	for _, tc := range []struct {
		w    Warning
		want string
	}{
		{Warning{Code: "high-cv", Message: "noisy"}, "high-cv: noisy"},
		{Warning{Code: CodeHostLoad}, "host-load: "},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.w, got, tc.want)
		}
	}
}
