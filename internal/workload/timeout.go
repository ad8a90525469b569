package workload

import "time"

// TrialTimeouter is implemented by workloads that know how long one trial
// of theirs may take with the given (resolved) parameters: the sandbox's
// start, the measurement and a margin for slow isolation. The runner kills
// a trial that runs longer and keeps it as timed out. A suite may set
// another limit per workload.
type TrialTimeouter interface {
	TrialTimeout(params map[string]string) time.Duration
}

// TrialTimeout returns w's own limit for one trial with params, or 0 when
// w gives none (the runner's default then applies).
func TrialTimeout(w Workload, params map[string]string) time.Duration {
	if t, ok := w.(TrialTimeouter); ok {
		if d := t.TrialTimeout(params); d > 0 {
			return d
		}
	}
	return 0
}
