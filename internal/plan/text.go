package plan

import (
	"strings"
	"unicode/utf8"
)

// Limits on the text a layer and a plan may hold. Following aliases, a
// layer of a few kilobytes can describe gigabytes of text (a thousand
// aliases of one long string), and the daemon keeps every layer and prints
// the combined plan on request. The size counted is the bytes of every
// string of a layer (entry names, field values, list items, map keys and
// values) once aliases are expanded. Real layers are a few kilobytes.
const (
	// MaxLayerText is the most text one layer may hold.
	MaxLayerText = 4 << 20
	// MaxPlanText is the most text all the layers of a plan may hold
	// together; the combined plan never holds more than its layers.
	MaxPlanText = 16 << 20
)

// text is one string of a layer entry: the value of a field, an item of a
// list field, or a key or value of a map field.
type text struct {
	field string
	value string
	// isKey is set for the key of a map field, which value is.
	isKey bool
}

// textsBuilder collects the texts of one entry.
type textsBuilder []text

func (b *textsBuilder) str(field, value string) {
	*b = append(*b, text{field: field, value: value})
}

func (b *textsBuilder) list(field string, values []string) {
	for _, v := range values {
		b.str(field, v)
	}
}

func textsMap[V ~string](b *textsBuilder, field string, m map[string]V) {
	for _, k := range sortedKeys(m) {
		*b = append(*b, text{field: field, value: k, isKey: true}, text{field: field, value: string(m[k])})
	}
}

func (s *Service) texts() []text {
	var b textsBuilder
	b.str("summary", s.Summary)
	b.str("description", s.Description)
	b.str("startup", string(s.Startup))
	b.str("override", string(s.Override))
	b.str("command", s.Command)
	b.list("after", s.After)
	b.list("before", s.Before)
	b.list("requires", s.Requires)
	b.str("workload", s.Workload)
	textsMap(&b, "environment", s.Environment)
	b.str("user", s.User)
	b.str("group", s.Group)
	b.str("working-dir", s.WorkingDir)
	b.str("on-success", string(s.OnSuccess))
	b.str("on-failure", string(s.OnFailure))
	textsMap(&b, "on-check-failure", s.OnCheckFailure)
	b.str("on-restart-limit", string(s.OnRestartLimit))
	b.str("stop-signal", s.StopSignal)
	b.str("reload-signal", s.ReloadSignal)
	b.str("reload-command", s.ReloadCommand)
	b.str("charge-group", s.ChargeGroup)
	if s.Readiness != nil {
		b.str("readiness.check", s.Readiness.Check)
	}
	b.str("type", string(s.Type))
	b.str("environment-file", s.EnvironmentFile)
	b.str("log-access", string(s.LogAccess))
	b.str("schedule", s.Schedule)
	return b
}

func (c *Check) texts() []text {
	var b textsBuilder
	b.str("override", string(c.Override))
	b.str("level", string(c.Level))
	b.str("startup", string(c.Startup))
	if h := c.HTTP; h != nil {
		b.str("http.url", h.URL)
		textsMap(&b, "http.headers", h.Headers)
	}
	if t := c.TCP; t != nil {
		b.str("tcp.host", t.Host)
	}
	if e := c.Exec; e != nil {
		b.str("exec.command", e.Command)
		b.str("exec.service-context", e.ServiceContext)
		textsMap(&b, "exec.environment", e.Environment)
		b.str("exec.user", e.User)
		b.str("exec.group", e.Group)
		b.str("exec.working-dir", e.WorkingDir)
		// Set from the service-context only, never by a layer.
		textsMap(&b, "exec.context-environment", e.ContextEnvironment)
		b.str("exec.context-environment-file", e.ContextEnvironmentFile)
	}
	return b
}

func (t *LogTarget) texts() []text {
	var b textsBuilder
	b.str("type", string(t.Type))
	b.str("location", t.Location)
	b.list("services", t.Services)
	b.str("override", string(t.Override))
	textsMap(&b, "labels", t.Labels)
	return b
}

func (w *Workload) texts() []text {
	var b textsBuilder
	b.str("override", string(w.Override))
	textsMap(&b, "environment", w.Environment)
	b.str("user", w.User)
	b.str("group", w.Group)
	return b
}

// environmentFields are the fields whose keys are environment variable
// names, which cannot hold "=".
var environmentFields = map[string]bool{"environment": true, "exec.environment": true}

// TextProblem says what is wrong with s as text of a layer, or of anything
// else given to a process (an exec argument): "contains a NUL byte" or "is
// not valid UTF-8"; "" when nothing is.
func TextProblem(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

// checkText rejects a layer whose label, entry names or string fields hold
// a NUL byte or invalid UTF-8, or whose environment names hold "=" (no
// process could be given them, and no API client could read them back), or
// that holds more than MaxLayerText bytes of text. The error names the
// layer, the entry and the field.
func (l *Layer) checkText() error {
	if size := l.textSize(); size > MaxLayerText {
		return formatErrorf("cannot accept layer %q: it holds %d bytes of text once aliases are expanded, more than the limit of %d",
			l.Label, size, MaxLayerText)
	}
	if bad := TextProblem(l.Label); bad != "" {
		return formatErrorf("cannot accept layer label %q: it %s", l.Label, bad)
	}
	if bad := TextProblem(l.Summary); bad != "" {
		return formatErrorf("cannot accept layer %q: field \"summary\" %s", l.Label, bad)
	}
	if bad := TextProblem(l.Description); bad != "" {
		return formatErrorf("cannot accept layer %q: field \"description\" %s", l.Label, bad)
	}
	if err := checkSectionText(l.Label, "service", l.Services); err != nil {
		return err
	}
	if err := checkSectionText(l.Label, "check", l.Checks); err != nil {
		return err
	}
	if err := checkSectionText(l.Label, "log target", l.LogTargets); err != nil {
		return err
	}
	if err := checkSectionText(l.Label, "workload", l.Workloads); err != nil {
		return err
	}
	return checkSectionText(l.Label, "workflow", l.Workflows)
}

// checkSectionText checks the names and texts of one section's entries, in
// name order. Nil entries are left for Validate to report.
func checkSectionText[T any, P interface {
	*T
	texts() []text
}](label, kind string, section map[string]P) error {
	for _, name := range sortedKeys(section) {
		if bad := TextProblem(name); bad != "" {
			return formatErrorf("cannot accept layer %q: %s name %q %s", label, kind, name, bad)
		}
		entry := section[name]
		if entry == nil {
			continue
		}
		for _, t := range entry.texts() {
			bad := TextProblem(t.value)
			if bad == "" && t.isKey && isEnvironmentField(t.field) && strings.Contains(t.value, "=") {
				bad = `contains "="`
			}
			switch {
			case bad == "":
			case t.isKey:
				return formatErrorf("cannot accept layer %q: %s %q field %q key %q %s", label, kind, name, t.field, t.value, bad)
			default:
				return formatErrorf("cannot accept layer %q: %s %q field %q %s: %q", label, kind, name, t.field, bad, t.value)
			}
		}
	}
	return nil
}

// textSize is the number of bytes of text the layer holds: its label,
// summary and description, and the names and texts of its entries.
func (l *Layer) textSize() int {
	size := len(l.Label) + len(l.Summary) + len(l.Description)
	size += sectionTextSize(l.Services)
	size += sectionTextSize(l.Checks)
	size += sectionTextSize(l.LogTargets)
	size += sectionTextSize(l.Workloads)
	size += sectionTextSize(l.Workflows)
	return size
}

func sectionTextSize[T any, P interface {
	*T
	texts() []text
}](section map[string]P) int {
	size := 0
	for name, entry := range section {
		size += len(name)
		if entry != nil {
			for _, t := range entry.texts() {
				size += len(t.value)
			}
		}
	}
	return size
}
