package driverkit

import "strconv"

// Phase is where an instance is in its life: Create makes it
// PhaseCreated; Start moves it to PhaseRunning, or to PhaseFailed with
// everything already undone; Stop to PhaseStopped; Close to PhaseClosed.
type Phase int

// The phases of an instance.
const (
	PhaseCreated Phase = iota
	PhaseRunning
	PhaseStopped
	PhaseFailed // Start failed; everything is already undone
	PhaseClosed
)

// String names the phase as errors say it: "instance is running".
func (p Phase) String() string {
	switch p {
	case PhaseCreated:
		return "created (not started)"
	case PhaseRunning:
		return "running"
	case PhaseStopped:
		return "stopped"
	case PhaseFailed:
		return "failed to start"
	case PhaseClosed:
		return "closed"
	}
	return "phase " + strconv.Itoa(int(p))
}
