package plan

import "github.com/pebble-project/pebble/internal/schedule"

// This file holds two timing fields beyond Pebble v1.32:
//
//   - a service's schedule (docs/schedules.md): 5-field cron or
//     "@every DURATION", parsed by the schedule package; each due time
//     starts the service;
//   - a check's start-period (docs/checks.md): failures within it of the
//     check's start count towards no threshold until the check first
//     succeeds.
//
// A layer without them means what it means to Pebble.

// ParsedSchedule returns the service's parsed schedule, nil when it has
// none. A plan's schedules were validated when its layers were, so this
// fails only for a Service built by hand.
func (s *Service) ParsedSchedule() (*schedule.Schedule, error) {
	if s.Schedule == "" {
		return nil, nil
	}
	return schedule.Parse(s.Schedule)
}

// validateLayerTiming checks the schedule of a layer's service.
func validateLayerTiming(label, name string, s *Service) error {
	if s.Schedule == "" {
		return nil
	}
	if _, err := schedule.Parse(s.Schedule); err != nil {
		return formatErrorf("layer %q service %q field %q: %v", label, name, "schedule", err)
	}
	return nil
}

// validateCheckStartPeriod checks a layer's check's start-period.
func validateCheckStartPeriod(label, name string, c *Check) error {
	if p := c.StartPeriod; p.IsSet && p.Value < 0 {
		return formatErrorf("layer %q check %q field %q: must not be negative, not %s", label, name, "start-period", p.Value)
	}
	return nil
}

// mergeTiming merges the timing fields of other into s.
func (s *Service) mergeTiming(other *Service) {
	mergeString(&s.Schedule, other.Schedule)
}
