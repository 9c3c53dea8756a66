// Package planstate holds the current layers and the combined plan: it loads
// $PEBBLE/layers once at start, adds layers at run time, and publishes each
// new plan, an immutable *plan.Plan, to its subscribers. It starts and stops
// nothing.
package planstate

import (
	"fmt"
	"sync"

	"github.com/pebble-project/pebble/internal/plan"
)

// State is the current plan and the layers it was combined from. Its methods
// are safe for concurrent use.
type State struct {
	mu          sync.Mutex
	plan        *plan.Plan
	subscribers []func(*plan.Plan)
}

// Load reads the layers directory (missing is fine) and combines the plan.
func Load(layersDir string) (*State, error) {
	layers, err := plan.ReadDir(layersDir)
	if err != nil {
		return nil, err
	}
	p, err := plan.NewPlan(layers)
	if err != nil {
		return nil, err
	}
	return &State{plan: p}, nil
}

// Plan returns the current plan; callers must not modify it.
func (s *State) Plan() *plan.Plan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.plan
}

// Subscribe calls f with the current plan now and with every later plan.
// f runs with the state's lock held, so plans arrive in order; it must not
// call back into State.
func (s *State) Subscribe(f func(*plan.Plan)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, f)
	f(s.plan)
}

// InvalidLayerError is an add that was refused because of its content; the
// plan is unchanged.
type InvalidLayerError struct{ Err error }

func (e *InvalidLayerError) Error() string { return e.Err.Error() }

func (e *InvalidLayerError) Unwrap() error { return e.Err }

// AddLayer parses a layer given over the API and adds it (layers.md §8).
// On any error the plan stays as it was.
func (s *State) AddLayer(label string, data []byte, combine, inner bool) error {
	l, err := plan.ParseLayer(0, label, data)
	if err != nil {
		return &InvalidLayerError{fmt.Errorf("cannot parse layer YAML: %w", err)}
	}
	return s.add(l, combine, inner)
}

// AppendLayer adds an already parsed layer at the top, such as the
// pebble-service-args layer of `pebble run --args`.
func (s *State) AppendLayer(l *plan.Layer) error {
	return s.add(l, false, false)
}

func (s *State) add(l *plan.Layer, combine, inner bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.plan.WithLayer(l, combine, inner)
	if err != nil {
		return &InvalidLayerError{err}
	}
	s.plan = p
	for _, f := range s.subscribers {
		f(p)
	}
	return nil
}
