package driverkit

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestUndo(t *testing.T) {
	var order []string
	var c Undo
	c.Push("a", func() error { order = append(order, "a"); return nil })
	b := c.Push("b", func() error { order = append(order, "b"); return os.ErrPermission })
	c.Push("c", func() error { order = append(order, "c"); return nil })
	skipped := c.Push("skipped", func() error { order = append(order, "skipped"); return nil })
	skipped.MarkDone()
	err := c.Run()
	if !reflect.DeepEqual(order, []string{"c", "b", "a"}) {
		t.Errorf("order %v", order)
	}
	if err == nil || !strings.Contains(err.Error(), "b: permission denied") {
		t.Errorf("error %v", err)
	}
	if !b.Done() {
		t.Error("failed step not marked done")
	}
	if err := c.Run(); err != nil || len(order) != 3 {
		t.Errorf("second run: %v, order %v", err, order)
	}

	// The record's removal waits for everything else, across runs.
	var d Undo
	removed := false
	d.PushLast("record", func() error { removed = true; return nil })
	d.Push("mount", func() error { return os.ErrExist })
	if err := d.Run(); err == nil || !strings.Contains(err.Error(), "record: kept") || removed {
		t.Errorf("with a failed step: err %v, record removed %v", err, removed)
	}
	if err := d.Run(); err == nil || removed {
		t.Errorf("second run after a failed step: err %v, record removed %v", err, removed)
	}
	var e Undo
	e.PushLast("record", func() error { removed = true; return nil })
	e.Push("mount", func() error { return nil })
	if err := e.Run(); err != nil || !removed {
		t.Errorf("all fine: err %v, record removed %v", err, removed)
	}

	// A step pushed with Push runs even when another failed: the lxc
	// driver's record goes with its instance.
	var f Undo
	removed = false
	f.Push("record", func() error { removed = true; return nil })
	f.Push("mount", func() error { return os.ErrExist })
	if err := f.Run(); err == nil || !removed {
		t.Errorf("plain steps: err %v, record removed %v", err, removed)
	}
}

func TestPhaseAndOpenSet(t *testing.T) {
	for p, want := range map[Phase]string{
		PhaseCreated: "created (not started)", PhaseRunning: "running", PhaseStopped: "stopped",
		PhaseFailed: "failed to start", PhaseClosed: "closed", Phase(9): "phase 9",
	} {
		if p.String() != want {
			t.Errorf("Phase(%d) = %q, want %q", int(p), p.String(), want)
		}
	}
	var s OpenSet
	if s.Has("a") {
		t.Error("empty set has a")
	}
	s.Add("a")
	s.Add("b")
	s.Remove("b")
	s.Remove("never")
	if !s.Has("a") || s.Has("b") {
		t.Errorf("set: a %v, b %v; want a only", s.Has("a"), s.Has("b"))
	}
}
