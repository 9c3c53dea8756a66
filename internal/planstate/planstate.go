// Package planstate holds the current layers and the combined plan: it loads
// $PEBBLE/layers once at start (the directory rules are readLayers'), adds
// layers at run time, and publishes each
// new plan, an immutable *plan.Plan, to its subscribers. It starts and stops
// nothing.
package planstate

import (
	"slices"
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
	layers, err := readLayersDir(layersDir)
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

// AddLayer adds a layer given over the API, already parsed (layers.md §8).
// On any error the plan stays as it was.
func (s *State) AddLayer(l *plan.Layer, combine, inner bool) error {
	return s.add(l, combine, inner)
}

// AppendLayer puts a layer the daemon built itself on top of the stack, as
// it is: the pebble-service-args layer of `pebble run --args`, whose label
// and order plan.ServiceArgsLayer chose. Unlike AddLayer it allows the
// reserved "pebble-" label prefix, which only clients may not use.
func (s *State) AppendLayer(l *plan.Layer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := plan.NewPlan(append(slices.Clone(s.plan.Layers), l))
	if err != nil {
		return &InvalidLayerError{err}
	}
	s.publishLocked(p)
	return nil
}

func (s *State) add(l *plan.Layer, combine, inner bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.plan.WithLayer(l, combine, inner)
	if err != nil {
		return &InvalidLayerError{err}
	}
	s.publishLocked(p)
	return nil
}

// publishLocked makes p the current plan and hands it to the subscribers;
// s.mu must be held.
func (s *State) publishLocked(p *plan.Plan) {
	s.plan = p
	for _, f := range s.subscribers {
		f(p)
	}
}
