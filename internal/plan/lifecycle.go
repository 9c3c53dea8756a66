package plan

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// This file holds the lifecycle fields beyond Pebble (docs/readiness.md,
// docs/oneshot.md): readiness, start-timeout and type. A layer without them
// means what it means to Pebble.

// ServiceType says when a service's start is complete: a simple service
// once it is ready, a one-shot once its process has exited 0.
type ServiceType string

// The service types; unset behaves like simple.
const (
	TypeUnset   ServiceType = ""
	TypeSimple  ServiceType = "simple"
	TypeOneshot ServiceType = "oneshot"
)

// DefaultStartTimeout is the start-timeout of a service with readiness that
// sets none. A one-shot without start-timeout has no limit.
const DefaultStartTimeout = 60 * time.Second

// Readiness says when a started service counts as ready, instead of
// Pebble's "alive past the okay delay". A later layer that sets readiness
// replaces the whole object; an empty object (`readiness: {}`) means
// Pebble's rule again.
type Readiness struct {
	// Check names a check of the plan that must have succeeded once since
	// the start.
	Check string
	// Notify waits for READY=1 on the socket named by $NOTIFY_SOCKET
	// (systemd's sd_notify datagram protocol).
	Notify bool
}

// IsSet reports whether r asks for anything: a nil or empty readiness
// means Pebble's okay-delay rule.
func (r *Readiness) IsSet() bool {
	return r != nil && (r.Check != "" || r.Notify)
}

// Copy returns a copy of r (nil stays nil).
func (r *Readiness) Copy() *Readiness {
	if r == nil {
		return nil
	}
	c := *r
	return &c
}

// Equal reports whether r and other ask for the same readiness; nil and
// empty are the same.
func (r *Readiness) Equal(other *Readiness) bool {
	var a, b Readiness
	if r != nil {
		a = *r
	}
	if other != nil {
		b = *other
	}
	return a == b
}

// IsOneshot reports whether the service is a one-shot.
func (s *Service) IsOneshot() bool {
	return s.Type == TypeOneshot
}

// EffectiveStartTimeout is how long a start may wait for readiness or, for
// a one-shot, for the exit: start-timeout, else 60s with readiness, else 0
// (no limit: a one-shot, or a service ready at the okay delay).
func (s *Service) EffectiveStartTimeout() time.Duration {
	switch {
	case s.StartTimeout.IsSet:
		return s.StartTimeout.Value
	case s.Readiness.IsSet():
		return DefaultStartTimeout
	}
	return 0
}

// mergeLifecycle folds the lifecycle fields of other into s: type and
// start-timeout replace when set, readiness replaces as a whole.
func (s *Service) mergeLifecycle(other *Service) {
	mergeString(&s.Type, other.Type)
	mergeDuration(&s.StartTimeout, other.StartTimeout)
	if other.Readiness != nil {
		s.Readiness = other.Readiness.Copy()
	}
}

// readinessField decodes the readiness object.
func (d *decoder) readinessField(what string, dst **Readiness) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		r := &Readiness{}
		err = d.fields(n, what, "readiness.", map[string]field{
			"check":  d.strField(&r.Check),
			"notify": d.boolField(&r.Notify),
		})
		if err != nil {
			return err
		}
		*dst = r
		return nil
	}
}

// boolField decodes a YAML boolean. Null leaves the field alone.
func (d *decoder) boolField(dst *bool) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			return errAt(n, "expected true or false, not %s", kindName(n))
		}
		return n.Decode(dst)
	}
}

// validateLayerLifecycle checks the lifecycle fields of one layer's service
// entry on their own.
func validateLayerLifecycle(label, name string, s *Service) error {
	switch s.Type {
	case TypeUnset, TypeSimple, TypeOneshot:
	default:
		return formatErrorf(`layer %q service %q: type must be "simple" or "oneshot", not %q`, label, name, s.Type)
	}
	if t := s.StartTimeout; t.IsSet && t.Value <= 0 {
		return formatErrorf(`layer %q service %q: start-timeout must be positive, not %s`, label, name, t.Value)
	}
	return nil
}

// validateLifecycle checks the lifecycle rules that need the combined
// plan. The error names the last layer that set the offending field.
func (p *Plan) validateLifecycle(name string, s *Service) error {
	fail := func(set func(*Service) bool, format string, args ...any) error {
		return formatErrorf("layer %q service %q: %s", p.layerSetting(name, set), name, fmt.Sprintf(format, args...))
	}
	setsReadiness := func(l *Service) bool { return l.Readiness != nil }
	if r := s.Readiness; r.IsSet() && r.Check != "" && p.Checks[r.Check] == nil {
		return fail(setsReadiness, "readiness check %q is not a check of the plan", r.Check)
	}
	if s.IsOneshot() {
		if s.Readiness.IsSet() {
			return fail(setsReadiness, "a oneshot service cannot have readiness: it is ready when it exits 0")
		}
		if s.OnSuccess == ActionRestart {
			return fail(func(l *Service) bool { return l.OnSuccess != ActionUnset }, `a oneshot service cannot have on-success "restart": a succeeded one-shot stays done`)
		}
		if s.OnFailure == ActionRestart {
			return fail(func(l *Service) bool { return l.OnFailure != ActionUnset }, `a oneshot service cannot have on-failure "restart": a failed one-shot stays failed until started again`)
		}
		for _, check := range sortedKeys(s.OnCheckFailure) {
			if s.OnCheckFailure[check] == ActionRestart {
				return fail(func(l *Service) bool { return l.OnCheckFailure[check] != ActionUnset },
					`a oneshot service cannot have on-check-failure %q "restart"`, check)
			}
		}
		return nil
	}
	if s.StartTimeout.IsSet && !s.Readiness.IsSet() {
		return fail(func(l *Service) bool { return l.StartTimeout.IsSet },
			"start-timeout needs readiness or type oneshot (without them a service is started at the okay delay)")
	}
	return nil
}

// layerSetting returns the label of the last layer whose entry for the
// service satisfies set, or of the last layer defining the service.
func (p *Plan) layerSetting(name string, set func(*Service) bool) string {
	last := ""
	for i := len(p.Layers) - 1; i >= 0; i-- {
		s := p.Layers[i].Services[name]
		if s == nil {
			continue
		}
		if set(s) {
			return p.Layers[i].Label
		}
		if last == "" {
			last = p.Layers[i].Label
		}
	}
	return last
}
