package driver

import (
	"context"
	"fmt"
	"time"
)

// Leftover is one thing an isobench process that no longer runs left on the
// host: what Collect would remove.
type Leftover struct {
	// ID is the sandbox's id (it starts with IDPrefix), or names what
	// else was left (e.g. a private engine daemon).
	ID string
	// What says what is left, e.g. "runc container, overlay mount and directory".
	What string
	// OwnerPID is the isobench process that made it; 0 when unknown.
	OwnerPID int
	// Created is when it was made; zero when unknown.
	Created time.Time
}

func (l Leftover) String() string {
	s := l.ID
	if l.What != "" {
		s += " (" + l.What + ")"
	}
	if l.OwnerPID > 0 {
		s += fmt.Sprintf(", made by isobench pid %d", l.OwnerPID)
	}
	if !l.Created.IsZero() {
		s += " at " + l.Created.Local().Format("2006-01-02 15:04:05")
	}
	return s
}

// LeftoverFinder is implemented by drivers that can say, quickly and
// without removing anything, what isobench processes that no longer run
// left on this host (from their state records): the things Collect would
// remove. `isobench run` asks every driver before it starts, and warns.
type LeftoverFinder interface {
	Leftovers(ctx context.Context) ([]Leftover, error)
}
