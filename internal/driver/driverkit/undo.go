package driverkit

import (
	"errors"
	"fmt"
)

// Step is one undo step, registered when the thing it undoes is made.
type Step struct {
	name string
	fn   func() error
	done bool
	// last marks a state record's removal: it runs only when every other
	// step succeeded, so that the record stays for whatever is left.
	last bool
}

// MarkDone marks the step as done without running it: what it would undo
// was undone another way.
func (s *Step) MarkDone() { s.done = true }

// Done reports whether the step ran or was marked done.
func (s *Step) Done() bool { return s.done }

// Undo is a stack of undo steps, run newest first, each at most once. The
// zero value is an empty stack.
type Undo struct {
	steps  []*Step
	failed bool // a step failed, in this run or an earlier one
}

// Push registers a step.
func (u *Undo) Push(name string, fn func() error) *Step {
	s := &Step{name: name, fn: fn}
	u.steps = append(u.steps, s)
	return s
}

// PushLast registers the step that must only run when all others
// succeeded, in this run and every earlier one: removing the state record
// that lets isobench gc find what a failed step left.
func (u *Undo) PushLast(name string, fn func() error) *Step {
	s := u.Push(name, fn)
	s.last = true
	return s
}

// Run runs every step not yet done, newest first, and joins their errors,
// each prefixed with its step's name. A failed step is not retried by a
// later Run: its error is reported once. A step pushed with PushLast is
// kept (not run, not done) when another step failed, and says so in the
// error.
func (u *Undo) Run() error {
	var errs []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		if s.done {
			continue
		}
		if s.last && (u.failed || len(errs) > 0) {
			errs = append(errs, fmt.Errorf("%s: kept, so that isobench gc can remove what is left", s.name))
			continue
		}
		s.done = true
		if err := s.fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if len(errs) > 0 {
		u.failed = true
	}
	return errors.Join(errs...)
}
