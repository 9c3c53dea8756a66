package servstate

import (
	"context"
	"time"

	"github.com/pebble-project/pebble/internal/plan"
)

// shutdownMargin is added to the shutdown stop budget (behaviour.md §1).
const shutdownMargin = 100 * time.Millisecond

// ShutdownBudget is how long the daemon waits at exit for the change that
// stops every active service (behaviour.md §1, "shutdown stop budget"): the
// longest kill-delay of the services that are starting, running, in backoff
// or stopping, and never less than the default kill-delay, plus the
// kill-fail delay and a small margin. The kill-delay of a service is that of the
// definition it was last started with, the one its stop will use.
func (m *Manager) ShutdownBudget() time.Duration {
	longest := plan.DefaultKillDelay
	for _, s := range m.allRecords() {
		s.mu.Lock()
		switch s.state {
		case stateStarting, stateRunning, stateBackoff, stateTerminating, stateKilling:
			if s.svc != nil {
				longest = max(longest, s.svc.EffectiveKillDelay())
			}
		}
		s.mu.Unlock()
	}
	return longest + m.opts.KillFailDelay + shutdownMargin
}

// AwaitStopping waits, until ctx ends, for every service that is stopping
// to have stopped. A stop asked of a service already stopping answers at
// once (behaviour.md §8), so the daemon's shutdown waits here for the stops
// that other changes began, such as a check-failure restart's.
func (m *Manager) AwaitStopping(ctx context.Context) error {
	for _, s := range m.allRecords() {
		if _, err := s.request(ctx, command{kind: cmdAwaitStop}); err != nil {
			return err
		}
	}
	return nil
}
