package plan

import (
	"maps"
	"slices"
	"time"
)

// Defaults of layers.md §7.4 and the run-time defaults the plan leaves
// unwritten.
const (
	DefaultBackoffDelay   = 500 * time.Millisecond
	DefaultBackoffFactor  = 2.0
	DefaultBackoffLimit   = 30 * time.Second
	DefaultKillDelay      = 5 * time.Second
	DefaultCheckPeriod    = 10 * time.Second
	DefaultCheckTimeout   = 3 * time.Second
	DefaultCheckThreshold = 3
	DefaultTCPHost        = "localhost"
)

// NewPlan combines layers (CombineLayers), applies the defaults of
// layers.md §7.4 and validates the result (§4, §5, §6.1, §7.5). The plan
// keeps a copy of the layers slice in Layers; the layers themselves are not
// modified and the plan's entries share nothing with them.
//
// Defaults are written into the Value of OptionalDuration and OptionalFloat
// fields while IsSet stays false, so the YAML output shows only what layers
// set; check thresholds are set to 3 when zero and a check timeout larger
// than its period is capped at the period. Kill-delay and the other run-time
// defaults are not written: use the Effective methods.
//
// Layers holding more than MaxPlanText bytes of text together are refused.
func NewPlan(layers []*Layer) (*Plan, error) {
	text := 0
	for _, l := range layers {
		text += l.textSize()
	}
	if text > MaxPlanText {
		return nil, formatErrorf("cannot combine layers: they hold %d bytes of text, more than the limit of %d", text, MaxPlanText)
	}
	combined, err := CombineLayers(layers...)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Layers:     append([]*Layer(nil), layers...),
		Services:   combined.Services,
		Checks:     combined.Checks,
		LogTargets: combined.LogTargets,
		Workloads:  combined.Workloads,
		Pairing:    combined.Pairing,
		Workflows:  combined.Workflows,
		text:       text,
	}
	p.unknownOrder = map[string]bool{}
	for _, s := range p.Services {
		s.applyDefaults()
		p.noteUnknownOrder(s, true)
	}
	for _, c := range p.Checks {
		c.applyDefaults()
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// noteUnknownOrder adds the names in s's after and before lists that are
// not services of p to p.unknownOrder. Unless owned is set, the map is
// shared with another plan and is copied before it is changed; it returns
// whether p owns the map now.
func (p *Plan) noteUnknownOrder(s *Service, owned bool) bool {
	for _, name := range slices.Concat(s.After, s.Before) {
		if p.Services[name] == nil && !p.unknownOrder[name] {
			if !owned {
				p.unknownOrder, owned = maps.Clone(p.unknownOrder), true
			}
			p.unknownOrder[name] = true
		}
	}
	return owned
}

// applyDefaults writes the defaults of layers.md §7.4 into a combined
// service's unset backoff fields (see NewPlan).
func (s *Service) applyDefaults() {
	if !s.BackoffDelay.IsSet {
		s.BackoffDelay.Value = DefaultBackoffDelay
	}
	if !s.BackoffFactor.IsSet {
		s.BackoffFactor.Value = DefaultBackoffFactor
	}
	if !s.BackoffLimit.IsSet {
		s.BackoffLimit.Value = DefaultBackoffLimit
	}
}

// applyDefaults writes the defaults of layers.md §7.4 into a combined
// check (see NewPlan).
func (c *Check) applyDefaults() {
	if !c.Period.IsSet {
		c.Period.Value = DefaultCheckPeriod
	}
	if !c.Timeout.IsSet {
		c.Timeout.Value = DefaultCheckTimeout
	}
	if c.Timeout.Value > c.Period.Value {
		c.Timeout.Value = c.Period.Value
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultCheckThreshold
	}
}

// EffectiveBackoffDelay is the first restart delay: backoff-delay, or 500ms.
func (s *Service) EffectiveBackoffDelay() time.Duration {
	return durationOr(s.BackoffDelay, DefaultBackoffDelay)
}

// EffectiveBackoffFactor is the multiplier between restart delays:
// backoff-factor, or 2.
func (s *Service) EffectiveBackoffFactor() float64 {
	if s.BackoffFactor.IsSet {
		return s.BackoffFactor.Value
	}
	return DefaultBackoffFactor
}

// EffectiveBackoffLimit is the cap on the restart delay: backoff-limit, or
// 30s.
func (s *Service) EffectiveBackoffLimit() time.Duration {
	return durationOr(s.BackoffLimit, DefaultBackoffLimit)
}

// EffectiveKillDelay is the time between SIGTERM and SIGKILL on stop:
// kill-delay, or 5s.
func (s *Service) EffectiveKillDelay() time.Duration {
	return durationOr(s.KillDelay, DefaultKillDelay)
}

// EffectiveOnSuccess is the action when the process exits 0: on-success, or
// restart.
func (s *Service) EffectiveOnSuccess() ServiceAction {
	if s.OnSuccess == ActionUnset {
		return ActionRestart
	}
	return s.OnSuccess
}

// EffectiveOnFailure is the action when the process exits non-zero or is
// killed: on-failure, or restart.
func (s *Service) EffectiveOnFailure() ServiceAction {
	if s.OnFailure == ActionUnset {
		return ActionRestart
	}
	return s.OnFailure
}

// Enabled reports whether the service starts on autostart and replan
// (startup: enabled; any other value behaves like disabled).
func (s *Service) Enabled() bool {
	return s.Startup == StartupEnabled
}

// EffectivePeriod is the interval between check runs: period, or 10s.
func (c *Check) EffectivePeriod() time.Duration {
	return durationOr(c.Period, DefaultCheckPeriod)
}

// EffectiveTimeout is the limit of one check run: timeout, or 3s, and never
// more than EffectivePeriod.
func (c *Check) EffectiveTimeout() time.Duration {
	return min(durationOr(c.Timeout, DefaultCheckTimeout), c.EffectivePeriod())
}

// EffectiveThreshold is the number of consecutive failures that makes the
// check fail: threshold, or 3.
func (c *Check) EffectiveThreshold() int {
	if c.Threshold == 0 {
		return DefaultCheckThreshold
	}
	return c.Threshold
}

// Enabled reports whether the check starts when the plan is loaded
// (startup unset or enabled).
func (c *Check) Enabled() bool {
	return c.Startup != CheckStartupDisabled
}

// EffectiveHost is the host a TCP check connects to: host, or localhost.
func (t *TCPCheck) EffectiveHost() string {
	if t.Host == "" {
		return DefaultTCPHost
	}
	return t.Host
}

func durationOr(d OptionalDuration, def time.Duration) time.Duration {
	if d.IsSet {
		return d.Value
	}
	return def
}
