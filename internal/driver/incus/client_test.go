package incus

import (
	"context"
	"fmt"
	"testing"
)

func TestWaitTimedOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"the daemon's wait ran out", &apiError{Code: 500, Msg: "context deadline exceeded", Method: "GET", Path: "/1.0/operations/x/wait"}, true},
		{"wrapped", fmt.Errorf("start: %w", &apiError{Code: 500, Msg: "context deadline exceeded"}), true},
		{"the operation failed", &apiError{Code: 500, Msg: "Failed to run: lxc-start: exit status 1"}, false},
		{"not found", &apiError{Code: 404, Msg: "Operation not found"}, false},
		{"our own deadline", context.DeadlineExceeded, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := waitTimedOut(tc.err); got != tc.want {
				t.Errorf("waitTimedOut(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
