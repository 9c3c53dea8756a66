package plan

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/pebble-project/pebble/internal/plan/cmdline"
)

// This file holds the service fields beyond Pebble v1.32 that govern how a
// service ends (docs/restart-budget.md, docs/stop-and-reload.md):
//
//   - restart-limit, restart-window, on-restart-limit: at most restart-limit
//     automatic restarts within restart-window (ever since the last start
//     when no window is set); past that the service stops trying and
//     on-restart-limit says what follows;
//   - success-exit-codes: exit codes, beside 0, that take the on-success path;
//   - stop-signal: what a stop sends first, instead of SIGTERM;
//   - reload-signal or reload-command: how the service reloads without a
//     restart (at most one of them).
//
// A layer without these fields behaves exactly as in Pebble.

// DefaultStopSignal is what a stop sends first when stop-signal is unset.
const DefaultStopSignal = "SIGTERM"

// MaxExitCode is the largest exit code a process can report.
const MaxExitCode = 255

// EffectiveRestartLimit is the most automatic restarts allowed within the
// restart window: restart-limit, or 0 for no limit.
func (s *Service) EffectiveRestartLimit() int {
	if s.RestartLimit == nil {
		return 0
	}
	return *s.RestartLimit
}

// EffectiveOnRestartLimit is what happens when the restart limit is reached:
// on-restart-limit, or ignore (the service stays failed).
func (s *Service) EffectiveOnRestartLimit() ServiceAction {
	if s.OnRestartLimit == ActionUnset {
		return ActionIgnore
	}
	return s.OnRestartLimit
}

// EffectiveStopSignal is the signal a stop sends first: stop-signal, or
// SIGTERM.
func (s *Service) EffectiveStopSignal() string {
	if s.StopSignal == "" {
		return DefaultStopSignal
	}
	return s.StopSignal
}

// SuccessExit reports whether an exit with code takes the on-success path:
// code 0 always does, and so does any code in success-exit-codes.
func (s *Service) SuccessExit(code int) bool {
	return code == 0 || slices.Contains(s.SuccessExitCodes, code)
}

// CanReload reports whether the service has a reload method (reload-signal
// or reload-command).
func (s *Service) CanReload() bool {
	return s.ReloadSignal != "" || s.ReloadCommand != ""
}

// mergeExitCodes appends to codes those of other it does not hold yet, in
// a new slice, as lists are appended when layers merge (layers.md §7.2).
func mergeExitCodes(codes, other []int) []int {
	out := slices.Clip(codes)
	for _, c := range other {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// intListField decodes a YAML list of integers. Null leaves it unset.
func (d *decoder) intListField(dst *[]int) field {
	return func(n *yaml.Node) error {
		var list []int
		set := false
		err := d.seqField("a list of integers", func(_ int, item *yaml.Node) error {
			v, ok, err := d.integer(item)
			if err != nil {
				return err
			}
			if !ok {
				return errAt(item, "expected an integer, not null")
			}
			list = append(list, v)
			return nil
		}, &set)(n)
		if set {
			*dst = list
		}
		return err
	}
}

// validateExitPolicy checks the fields of this file in one layer's service
// entry. Errors name the layer, the service and the field.
func validateExitPolicy(label, name string, s *Service) error {
	bad := func(field, format string, args ...any) error {
		return formatErrorf("layer %q service %q field %q: %s", label, name, field, fmt.Sprintf(format, args...))
	}
	if s.RestartLimit != nil && *s.RestartLimit < 0 {
		return bad("restart-limit", "must be 0 (no limit) or more, not %d", *s.RestartLimit)
	}
	if w := s.RestartWindow; w.IsSet && w.Value <= 0 {
		return bad("restart-window", "must be a positive duration, not %s", w.Value)
	}
	switch s.OnRestartLimit {
	case ActionUnset, ActionIgnore, ActionShutdown, ActionFailureShutdown, ActionSuccessShutdown:
	default:
		return bad("on-restart-limit", `invalid action %q: must be "ignore", "shutdown", "failure-shutdown" or "success-shutdown"`, s.OnRestartLimit)
	}
	for _, code := range s.SuccessExitCodes {
		if code < 0 || code > MaxExitCode {
			return bad("success-exit-codes", "exit code %d out of range 0-%d", code, MaxExitCode)
		}
	}
	for _, f := range []struct{ field, value string }{{"stop-signal", s.StopSignal}, {"reload-signal", s.ReloadSignal}} {
		if f.value == "" {
			continue
		}
		if !validSignalName(f.value) {
			return bad(f.field, `invalid signal name %q: must be an uppercase name such as "SIGTERM"`, f.value)
		}
	}
	if s.ReloadCommand != "" {
		if _, err := cmdline.Split(s.ReloadCommand); err != nil {
			return bad("reload-command", "%v", err)
		}
	}
	if s.ReloadSignal != "" && s.ReloadCommand != "" {
		return bad("reload-signal", "cannot be set together with reload-command: use one reload method")
	}
	return nil
}

// validSignalName reports whether name is a signal's uppercase,
// "SIG"-prefixed name, as the signal API takes them (osutil.SignalByName,
// which this pure package does not import).
func validSignalName(name string) bool {
	return strings.HasPrefix(name, "SIG") && strings.ToUpper(name) == name && unix.SignalNum(name) != 0
}

// validateReload checks the combined service: reload-signal and
// reload-command, each set by some layer, cannot both be in the plan. The
// error names the last layer that set each.
func (p *Plan) validateReload(name string, s *Service) error {
	if s.ReloadSignal == "" || s.ReloadCommand == "" {
		return nil
	}
	signalLayer := p.layerSetting(name, func(l *Service) bool { return l.ReloadSignal != "" })
	commandLayer := p.layerSetting(name, func(l *Service) bool { return l.ReloadCommand != "" })
	return formatErrorf("plan service %q cannot have both reload-signal (from layer %q) and reload-command (from layer %q): use one reload method",
		name, signalLayer, commandLayer)
}
