package plan

import (
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/pebble-project/pebble/internal/plan/cmdline"
)

// Validate checks the rules of layers.md that apply to a layer on its own
// (the "parse time" rules of §3–6). ParseLayer calls it; call it directly
// for layers built in code. Entries are checked in name order, so the first
// error is always the same one.
func (l *Layer) Validate() error {
	if err := l.checkText(); err != nil {
		return err
	}
	if strings.HasPrefix(l.Label, "pebble-") {
		return formatErrorf(`cannot use reserved label prefix "pebble-"`)
	}
	for _, name := range sortedKeys(l.Services) {
		if err := validateLayerService(name, l.Services[name]); err != nil {
			return err
		}
		if err := validateExitPolicy(l.Label, name, l.Services[name]); err != nil {
			return err
		}
		if err := validateLayerLifecycle(l.Label, name, l.Services[name]); err != nil {
			return err
		}
		if err := validateLayerPrivacy(l.Label, name, l.Services[name]); err != nil {
			return err
		}
		if err := validateLayerTiming(l.Label, name, l.Services[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Checks) {
		if err := validateLayerCheck(name, l.Checks[name]); err != nil {
			return err
		}
		if err := validateCheckStartPeriod(l.Label, name, l.Checks[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.LogTargets) {
		if err := validateLayerLogTarget(name, l.LogTargets[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Workloads) {
		if err := validateLayerWorkload(name, l.Workloads[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(l.Workflows) {
		if err := validateLayerWorkflow(l.Label, name, l.Workflows[name]); err != nil {
			return err
		}
	}
	if l.Pairing != nil {
		switch l.Pairing.Mode {
		case PairingUnset, PairingDisabled, PairingSingle, PairingMultiple:
		default:
			return formatErrorf(`invalid pairing mode %q: should be "disabled", "single" or "multiple"`, l.Pairing.Mode)
		}
	}
	return nil
}

func validateLayerService(name string, s *Service) error {
	switch {
	case name == "":
		return formatErrorf("cannot use empty string as service name")
	case name == "pebble":
		return formatErrorf("cannot use reserved service name %q", name)
	case strings.HasPrefix(name, "-"):
		return formatErrorf(`cannot use service name %q: starting with "-" not allowed`, name)
	case s == nil:
		return formatErrorf("service object cannot be null for service %q", name)
	}
	if err := validateCommand(name, s); err != nil {
		return err
	}
	// Pebble v1.32 accepts any startup value and treats it as disabled, so a
	// typo silently keeps a service from starting. We reject it instead.
	switch s.Startup {
	case StartupUnknown, StartupEnabled, StartupDisabled:
	default:
		return formatErrorf(`plan service %q startup must be "enabled" or "disabled", not %q`, name, s.Startup)
	}
	if !validAction(s.OnSuccess, ActionFailureShutdown) {
		return formatErrorf("plan service %q on-success action %q invalid", name, s.OnSuccess)
	}
	if !validAction(s.OnFailure, ActionSuccessShutdown) {
		return formatErrorf("plan service %q on-failure action %q invalid", name, s.OnFailure)
	}
	for _, check := range sortedKeys(s.OnCheckFailure) {
		if action := s.OnCheckFailure[check]; !validAction(action, ActionSuccessShutdown) {
			return formatErrorf("plan service %q on-check-failure action %q invalid", name, action)
		}
	}
	// Written so that NaN is rejected too.
	if f := s.BackoffFactor; f.IsSet && !(f.Value >= 1) {
		return formatErrorf("plan service %q backoff-factor must be 1.0 or greater, not %g", name, f.Value)
	}
	return nil
}

// validateCommand checks that the service's command splits and that its
// "[ ... ]" group is well formed. An empty command passes (NewPlan requires
// one in the combined plan).
func validateCommand(name string, s *Service) error {
	if _, _, err := s.ParseCommand(); err != nil {
		return formatErrorf("plan service %q command invalid: %v", name, err)
	}
	return nil
}

// validAction reports whether a is unset, restart, shutdown or ignore, or
// one of the extra actions the field allows.
func validAction(a ServiceAction, extra ServiceAction) bool {
	switch a {
	case ActionUnset, ActionRestart, ActionShutdown, ActionIgnore, extra:
		return true
	}
	return false
}

func validateLayerCheck(name string, c *Check) error {
	switch {
	case name == "":
		return formatErrorf("cannot use empty string as check name")
	case c == nil:
		return formatErrorf("check object cannot be null for check %q", name)
	}
	switch c.Level {
	case UnsetLevel, AliveLevel, ReadyLevel:
	default:
		return formatErrorf(`plan check %q level must be "alive" or "ready"`, name)
	}
	switch c.Startup {
	case CheckStartupUnknown, CheckStartupEnabled, CheckStartupDisabled:
	default:
		return formatErrorf(`plan check %q startup must be "enabled" or "disabled"`, name)
	}
	if c.Period.IsSet && c.Period.Value == 0 {
		return formatErrorf("plan check %q period must not be zero", name)
	}
	if c.Period.IsSet && c.Period.Value < 0 {
		return formatErrorf("plan check %q period must not be negative", name)
	}
	if c.Timeout.IsSet && c.Timeout.Value == 0 {
		return formatErrorf("plan check %q timeout must not be zero", name)
	}
	if c.Timeout.IsSet && c.Timeout.Value < 0 {
		return formatErrorf("plan check %q timeout must not be negative", name)
	}
	if c.Exec != nil {
		if _, err := cmdline.Split(c.Exec.Command); err != nil {
			return formatErrorf("plan check %q command invalid: %v", name, err)
		}
		if err := checkIDs(c.Exec.UserID, c.Exec.GroupID, c.Exec.User, c.Exec.Group); err != nil {
			return formatErrorf("plan check %q has invalid user/group: %v", name, err)
		}
	}
	return nil
}

func validateLayerLogTarget(name string, t *LogTarget) error {
	if t == nil {
		return formatErrorf("log target object cannot be null for log target %q", name)
	}
	for _, label := range sortedKeys(t.Labels) {
		if strings.HasPrefix(label, "pebble_") {
			return formatErrorf(`log target %q: label %q uses reserved prefix "pebble_"`, name, label)
		}
	}
	switch t.Type {
	case UnsetLogTarget, LokiTarget, OpenTelemetryTarget, SyslogTarget:
	default:
		return formatErrorf(`log target %q has unsupported type %q, must be "loki", "opentelemetry" or "syslog"`, name, t.Type)
	}
	return nil
}

func validateLayerWorkload(name string, w *Workload) error {
	switch {
	case w == nil:
		return formatErrorf("workload %q: cannot have a null value", name)
	case name == "":
		return formatErrorf("workload %q: cannot have an empty name", name)
	}
	return validateWorkloadOverride(name, w.Override)
}

func validateWorkloadOverride(name string, o Override) error {
	switch o {
	case MergeOverride, ReplaceOverride:
		return nil
	case UnknownOverride:
		return formatErrorf(`workload %q: must define an "override" policy`, name)
	}
	return formatErrorf(`workload %q: has an invalid "override" policy: %q`, name, o)
}

// validate checks the plan-level rules of layers.md (§4, §5, §6.1, §7.5) on
// the combined plan.
func (p *Plan) validate() error {
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if s.Command == "" {
			return formatErrorf(`plan must define "command" for service %q`, name)
		}
		if err := validateCommand(name, s); err != nil {
			return err
		}
		if err := p.validateReload(name, s); err != nil {
			return err
		}
		if err := p.validateLifecycle(name, s); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(p.Checks) {
		if err := p.validateCheck(name, p.Checks[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(p.LogTargets) {
		if err := p.validateLogTarget(name, p.LogTargets[name]); err != nil {
			return err
		}
	}
	if _, err := p.StartOrder(sortedKeys(p.Services)); err != nil {
		return err
	}
	if err := p.validateWorkloads(); err != nil {
		return err
	}
	return p.validateWorkflows()
}

func (p *Plan) validateCheck(name string, c *Check) error {
	types := 0
	if c.HTTP != nil {
		if c.HTTP.URL == "" {
			return formatErrorf(`plan must set "url" for http check %q`, name)
		}
		types++
	}
	if c.TCP != nil {
		if c.TCP.Port == 0 {
			return formatErrorf(`plan must set "port" for tcp check %q`, name)
		}
		types++
	}
	if c.Exec != nil {
		if c.Exec.Command == "" {
			return formatErrorf(`plan must set "command" for exec check %q`, name)
		}
		if ctx := c.Exec.ServiceContext; ctx != "" && p.Services[ctx] == nil {
			return formatErrorf("plan check %q service context specifies non-existent service %q", name, ctx)
		}
		types++
	}
	if types != 1 {
		return formatErrorf(`plan must specify one of "http", "tcp", or "exec" for check %q`, name)
	}
	return nil
}

func (p *Plan) validateLogTarget(name string, t *LogTarget) error {
	if t.Type == UnsetLogTarget {
		return formatErrorf(`plan must define "type" ("loki", "opentelemetry" or "syslog") for log target %q`, name)
	}
	for _, s := range t.Services {
		s = strings.TrimPrefix(s, "-")
		if s != "all" && p.Services[s] == nil {
			return formatErrorf("log target %q specifies unknown service %q", name, s)
		}
	}
	if t.Location == "" {
		return formatErrorf(`plan must define "location" for log target %q`, name)
	}
	if err := checkLocation(t); err != nil {
		return formatErrorf("log target %q has invalid location %q: %v", name, t.Location, err)
	}
	return nil
}

func (p *Plan) validateWorkloads() error {
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if s.Workload == "" {
			continue
		}
		if p.Workloads[s.Workload] == nil {
			return formatErrorf("workload %q: not defined for service %q", s.Workload, name)
		}
		if s.User != "" || s.UserID != nil {
			return formatErrorf("plan service %q cannot have user information and a workload at the same time", name)
		}
		if s.Group != "" || s.GroupID != nil {
			return formatErrorf("plan service %q cannot have group information and a workload at the same time", name)
		}
	}
	for _, name := range sortedKeys(p.Workloads) {
		w := p.Workloads[name]
		if err := checkIDs(w.UserID, w.GroupID, w.User, w.Group); err != nil {
			return formatErrorf("workload %q: %v", name, err)
		}
	}
	return nil
}

// checkIDs applies the user and group rules of layers.md §3.3 that can be
// checked without running anything: names must exist in the user database
// and agree with the numeric IDs given next to them, and a group needs a
// user. The IDs themselves are resolved when a process starts.
func checkIDs(userID, groupID *int, userName, groupName string) error {
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			return lookupError(err)
		}
		uid, err := strconv.Atoi(u.Uid)
		if err != nil {
			return fmt.Errorf("user %q has non-numeric UID %q", userName, u.Uid)
		}
		if userID != nil && *userID != uid {
			return fmt.Errorf("user %q UID (%d) does not match user-id (%d)", userName, uid, *userID)
		}
		userID = &uid
	}
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			return lookupError(err)
		}
		gid, err := strconv.Atoi(g.Gid)
		if err != nil {
			return fmt.Errorf("group %q has non-numeric GID %q", groupName, g.Gid)
		}
		if groupID != nil && *groupID != gid {
			return fmt.Errorf("group %q GID (%d) does not match group-id (%d)", groupName, gid, *groupID)
		}
		groupID = &gid
	}
	if userID == nil && groupID != nil {
		return errors.New("must specify user, not just group")
	}
	return nil
}

// lookupError keeps os/user's texts for unknown names ("user: unknown user
// x", "group: unknown group x") and passes other failures on.
func lookupError(err error) error {
	var uu user.UnknownUserError
	var ug user.UnknownGroupError
	if errors.As(err, &uu) || errors.As(err, &ug) {
		return err
	}
	return fmt.Errorf("cannot look up user or group: %w", err)
}

// sortedKeys returns the keys of m in ascending order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// IsDeprecatedServiceName reports whether name is one of the keywords
// "all", "default" and "none". Such names are accepted, but the daemon should
// log `Using keyword "<name>" as a service name is deprecated` (layers.md
// §3.2); this package does not log.
func IsDeprecatedServiceName(name string) bool {
	return name == "all" || name == "default" || name == "none"
}
