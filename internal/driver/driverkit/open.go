package driverkit

import "sync"

// OpenSet is the set of sandbox ids a driver holds open (made and not yet
// closed): what its Collect must leave alone although the owner, this
// process, runs. The zero value is empty; it is safe for concurrent use.
type OpenSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Add marks id open.
func (s *OpenSet) Add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]bool{}
	}
	s.ids[id] = true
}

// Remove marks id closed.
func (s *OpenSet) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

// Has reports whether id is open.
func (s *OpenSet) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}
