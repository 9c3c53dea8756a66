package plan

import "time"

// Override says how an entry combines with an earlier entry of the same name.
type Override string

// The override policies a layer entry may use.
const (
	UnknownOverride Override = ""
	MergeOverride   Override = "merge"
	ReplaceOverride Override = "replace"
)

// ServiceStartup says whether a service starts on autostart and replan.
// Values other than "enabled" and "disabled" are kept as written (Pebble
// v1.32 echoes them in the plan) and behave like "disabled".
type ServiceStartup string

// The startup values the spec names.
const (
	StartupUnknown  ServiceStartup = ""
	StartupEnabled  ServiceStartup = "enabled"
	StartupDisabled ServiceStartup = "disabled"
)

// ServiceAction is what happens when a service exits or one of its checks fails.
type ServiceAction string

// The actions of on-success, on-failure and on-check-failure.
const (
	ActionUnset           ServiceAction = ""
	ActionRestart         ServiceAction = "restart"
	ActionShutdown        ServiceAction = "shutdown"
	ActionSuccessShutdown ServiceAction = "success-shutdown"
	ActionFailureShutdown ServiceAction = "failure-shutdown"
	ActionIgnore          ServiceAction = "ignore"
)

// OptionalDuration is a duration that records whether a layer set it, so that
// an explicit zero counts as present when layers are merged.
type OptionalDuration struct {
	Value time.Duration
	IsSet bool
}

// OptionalFloat is a number that records whether a layer set it.
type OptionalFloat struct {
	Value float64
	IsSet bool
}

// Layer is one parsed layer: a file of $PEBBLE/layers or a layer added
// through the API. Order is the effective order (layers.md §1.1, §8.3).
type Layer struct {
	Order       int
	Label       string
	Summary     string
	Description string
	Services    map[string]*Service
	Checks      map[string]*Check
	LogTargets  map[string]*LogTarget
	Workloads   map[string]*Workload
	Pairing     *Pairing
	// Workflows are ours, not Pebble's (docs/workflows.md).
	Workflows map[string]*Workflow
}

// Service is a service entry of a layer or of the combined plan.
type Service struct {
	// Name is the map key; it is not part of the YAML.
	Name string

	Summary        string
	Description    string
	Startup        ServiceStartup
	Override       Override
	Command        string
	After          []string
	Before         []string
	Requires       []string
	Workload       string
	Environment    map[string]string
	UserID         *int
	User           string
	GroupID        *int
	Group          string
	WorkingDir     string
	OnSuccess      ServiceAction
	OnFailure      ServiceAction
	OnCheckFailure map[string]ServiceAction
	BackoffDelay   OptionalDuration
	BackoffFactor  OptionalFloat
	BackoffLimit   OptionalDuration
	KillDelay      OptionalDuration
	// Limits are the service's resource limits (limits.go).
	Limits Limits
	// ChargeGroup names the group the service's resource usage is added
	// to for charge-back ("charge-group"; Pebble's "group" is the Unix
	// group the service runs as).
	ChargeGroup string
	// The lifecycle fields beyond Pebble (lifecycle.go).
	Readiness    *Readiness
	StartTimeout OptionalDuration
	Type         ServiceType
	// The privacy fields beyond Pebble (privacy.go).
	EnvironmentFile string
	LogAccess       LogAccess

	// The restart budget, exit codes, stop and reload fields (exitpolicy.go).
	RestartLimit     *int
	RestartWindow    OptionalDuration
	OnRestartLimit   ServiceAction
	SuccessExitCodes []int
	StopSignal       string
	ReloadSignal     string
	ReloadCommand    string

	// Schedule is when the service is started besides its startup: 5-field
	// cron or "@every DURATION" (schedule.go).
	Schedule string
}

// CheckLevel is the level a check reports health at.
type CheckLevel string

// The check levels.
const (
	UnsetLevel CheckLevel = ""
	AliveLevel CheckLevel = "alive"
	ReadyLevel CheckLevel = "ready"
)

// CheckStartup says whether a check starts when the plan is loaded.
type CheckStartup string

// The check startup values; unset behaves like enabled.
const (
	CheckStartupUnknown  CheckStartup = ""
	CheckStartupEnabled  CheckStartup = "enabled"
	CheckStartupDisabled CheckStartup = "disabled"
)

// Check is a health check entry of a layer or of the combined plan.
type Check struct {
	// Name is the map key; it is not part of the YAML.
	Name string

	Override  Override
	Level     CheckLevel
	Startup   CheckStartup
	Period    OptionalDuration
	Timeout   OptionalDuration
	Threshold int
	// StartPeriod is how long after the check starts its failures count
	// towards no threshold until its first success (schedule.go).
	StartPeriod OptionalDuration
	HTTP        *HTTPCheck
	TCP         *TCPCheck
	Exec        *ExecCheck
}

// HTTPCheck succeeds when a GET of URL returns a 2xx status.
type HTTPCheck struct {
	URL     string
	Headers map[string]string
}

// TCPCheck succeeds when a TCP connection to Host:Port can be opened.
type TCPCheck struct {
	Port int
	Host string
}

// ExecCheck succeeds when Command exits 0.
type ExecCheck struct {
	Command        string
	ServiceContext string
	Environment    map[string]string
	UserID         *int
	User           string
	GroupID        *int
	Group          string
	WorkingDir     string

	// ContextEnvironment and ContextEnvironmentFile are set by
	// internal/checks from the service-context, never by a layer (they are
	// not part of the YAML): the workload's environment and the service's
	// environment-file, which Environment is layered on (envfile.Layered).
	// The file is read at every run.
	ContextEnvironment     map[string]string
	ContextEnvironmentFile string
}

// LogTargetType names the protocol a log target speaks.
type LogTargetType string

// The log target types.
const (
	UnsetLogTarget      LogTargetType = ""
	LokiTarget          LogTargetType = "loki"
	OpenTelemetryTarget LogTargetType = "opentelemetry"
	SyslogTarget        LogTargetType = "syslog"
)

// LogTarget is a log forwarding destination.
type LogTarget struct {
	// Name is the map key; it is not part of the YAML.
	Name string

	Type     LogTargetType
	Location string
	Services []string
	Override Override
	Labels   map[string]string
}

// Workload is a named bundle of execution settings services can refer to.
type Workload struct {
	// Name is the map key; it is not part of the YAML.
	Name string

	Override    Override
	Environment map[string]string
	UserID      *int
	User        string
	GroupID     *int
	Group       string
}

// PairingMode is the mode of the pairing section.
type PairingMode string

// The pairing modes.
const (
	PairingUnset    PairingMode = ""
	PairingDisabled PairingMode = "disabled"
	PairingSingle   PairingMode = "single"
	PairingMultiple PairingMode = "multiple"
)

// Pairing is the plan's pairing section.
type Pairing struct {
	Mode PairingMode
}

// Plan is the combined, validated result of all layers. A published Plan is
// never mutated: changes produce a new Plan.
type Plan struct {
	// Layers are the layers the plan was combined from, in order.
	Layers     []*Layer
	Services   map[string]*Service
	Checks     map[string]*Check
	LogTargets map[string]*LogTarget
	Workloads  map[string]*Workload
	Pairing    *Pairing
	Workflows  map[string]*Workflow

	// text is the text size of Layers together (see MaxPlanText).
	text int
	// unknownOrder holds the names listed in a service's after or before
	// that are not services (yet), and may hold more: a service of such a
	// name, added later, has edges nobody wrote next to it (see extend).
	unknownOrder map[string]bool
}
