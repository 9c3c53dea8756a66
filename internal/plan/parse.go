package plan

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseLayer parses and validates one layer (layers.md §2–6, §10). order and
// label are stored in the layer as given. Decoding is strict: an unknown top
// level key is `cannot parse layer "<label>": unknown section "<key>"`, and an
// unknown or badly typed field inside a section is
// `cannot parse layer "<label>" section "<section>": line <n>: ...` naming
// the entry and the field. An empty document is an empty layer. The layer's
// section maps are never nil.
//
// Rules that need the other layers (a service's command, requires, log
// target types, the override policies of services, checks and log targets)
// are checked by CombineLayers and NewPlan, not here.
func ParseLayer(order int, label string, data []byte) (*Layer, error) {
	layer, err := decodeLayer(label, data)
	if err != nil {
		return nil, err
	}
	layer.Order = order
	layer.Label = label
	if err := layer.Validate(); err != nil {
		return nil, err
	}
	return layer, nil
}

// newLayer returns a layer with empty, non-nil section maps.
func newLayer(order int, label string) *Layer {
	return &Layer{
		Order:      order,
		Label:      label,
		Services:   map[string]*Service{},
		Checks:     map[string]*Check{},
		LogTargets: map[string]*LogTarget{},
		Workloads:  map[string]*Workload{},
		Workflows:  map[string]*Workflow{},
	}
}

// The sections a layer may have, in the order they are decoded.
var layerKeys = []string{"summary", "description", "services", "checks", "log-targets", "workloads", "pairing", "workflows"}

// Following aliases, a small document can describe a huge layer. The
// decoder therefore visits at most baseNodeVisits nodes plus
// nodeVisitsPerNode for each node of the document, which leaves plenty of
// room for anchors shared by many entries.
const (
	baseNodeVisits    = 100_000
	nodeVisitsPerNode = 10
)

// decoder walks a yaml.Node tree strictly. Errors it returns are plain;
// decodeLayer wraps them with the layer label and the section.
type decoder struct {
	visits    int
	maxVisits int
}

// countNodes counts the nodes of a document, without following aliases.
func countNodes(n *yaml.Node) int {
	count := 1
	for _, c := range n.Content {
		count += countNodes(c)
	}
	return count
}

// fieldError is a decoding error with the line it happened on.
type fieldError struct {
	line int
	msg  string
	// named is set once msg names the entry and field, so that enclosing
	// objects pass it on unchanged.
	named bool
}

func (e *fieldError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("line %d: %s", e.line, e.msg)
	}
	return e.msg
}

func errAt(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &fieldError{line: line, msg: fmt.Sprintf(format, args...)}
}

func decodeLayer(label string, data []byte) (*Layer, error) {
	layer := newLayer(0, label)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, formatErrorf("cannot parse layer %q: %v", label, err)
	}
	d := &decoder{maxVisits: baseNodeVisits + nodeVisitsPerNode*countNodes(&doc)}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		var err error
		if root, err = d.resolve(doc.Content[0]); err != nil {
			return nil, formatErrorf("cannot parse layer %q: %v", label, err)
		}
	}
	if root == nil || isNull(root) {
		return layer, nil
	}
	pairs, err := d.pairs(root)
	if err != nil {
		return nil, formatErrorf("cannot parse layer %q: %v", label, err)
	}
	for _, p := range pairs {
		if !slices.Contains(layerKeys, p.key) {
			return nil, formatErrorf("cannot parse layer %q: unknown section %q", label, p.key)
		}
	}
	for _, p := range pairs {
		var err error
		switch p.key {
		case "summary":
			err = d.str(p.value, &layer.Summary)
		case "description":
			err = d.str(p.value, &layer.Description)
		case "services":
			err = decodeSection(d, p.value, layer.Services, d.service)
		case "checks":
			err = decodeSection(d, p.value, layer.Checks, d.check)
		case "log-targets":
			err = decodeSection(d, p.value, layer.LogTargets, d.logTarget)
		case "workloads":
			err = decodeSection(d, p.value, layer.Workloads, d.workload)
		case "pairing":
			layer.Pairing, err = d.pairing(p.value)
		case "workflows":
			err = decodeSection(d, p.value, layer.Workflows, d.workflow)
		}
		if err != nil {
			return nil, formatErrorf("cannot parse layer %q section %q: %v", label, p.key, err)
		}
	}
	return layer, nil
}

// decodeSection decodes a map of named entries into m. A null entry is
// stored as nil; Validate reports it with the spec's wording.
func decodeSection[T any](d *decoder, n *yaml.Node, m map[string]*T, entry func(name string, n *yaml.Node) (*T, error)) error {
	pairs, err := d.pairs(n)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if isNull(p.value) {
			m[p.key] = nil
			continue
		}
		v, err := entry(p.key, p.value)
		if err != nil {
			return err
		}
		m[p.key] = v
	}
	return nil
}

// field decodes one field of an entry.
type field func(n *yaml.Node) error

// fields decodes the mapping n with the given field decoders. what names
// the entry in errors, e.g. `service "web"`; prefix is put before field
// names of nested objects, e.g. "http.".
func (d *decoder) fields(n *yaml.Node, what, prefix string, table map[string]field) error {
	where := what
	if prefix != "" {
		where = fmt.Sprintf("%s field %q", what, strings.TrimSuffix(prefix, "."))
	}
	if n.Kind != yaml.MappingNode {
		return named(n, "%s: expected a mapping, not %s", where, kindName(n))
	}
	pairs, err := d.pairs(n)
	if err != nil {
		return wrapNamed(n, err, where+": ")
	}
	for _, p := range pairs {
		decode, ok := table[p.key]
		if !ok {
			return named(p.keyNode, "%s: unknown field %q", what, prefix+p.key)
		}
		if err := decode(p.value); err != nil {
			var fe *fieldError
			if errors.As(err, &fe) && fe.named {
				return err // a nested object already named the field
			}
			return wrapNamed(p.value, err, fmt.Sprintf("%s field %q: ", what, prefix+p.key))
		}
	}
	return nil
}

// named is errAt for messages that name the entry and the field.
func named(n *yaml.Node, format string, args ...any) error {
	err := errAt(n, format, args...).(*fieldError)
	err.named = true
	return err
}

// wrapNamed puts a prefix naming the entry and field in front of err's
// message, keeping err's line when it has one (else n's).
func wrapNamed(n *yaml.Node, err error, prefix string) error {
	line := n.Line
	var fe *fieldError
	if errors.As(err, &fe) && fe.line > 0 {
		line = fe.line
	}
	return &fieldError{line: line, msg: prefix + errorText(err), named: true}
}

// errorText is the message of err without any line prefix.
func errorText(err error) string {
	var fe *fieldError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return err.Error()
}

func (d *decoder) service(name string, n *yaml.Node) (*Service, error) {
	s := &Service{Name: name}
	what := fmt.Sprintf("service %q", name)
	err := d.fields(n, what, "", map[string]field{
		"summary":          d.strField(&s.Summary),
		"description":      d.strField(&s.Description),
		"startup":          enumField(d, &s.Startup),
		"override":         enumField(d, &s.Override),
		"command":          d.strField(&s.Command),
		"after":            d.listField(&s.After),
		"before":           d.listField(&s.Before),
		"requires":         d.listField(&s.Requires),
		"workload":         d.strField(&s.Workload),
		"environment":      d.mapField(&s.Environment),
		"environment-file": d.strField(&s.EnvironmentFile),
		"log-access":       enumField(d, &s.LogAccess),
		"user-id":          d.intPtrField(&s.UserID),
		"user":             d.strField(&s.User),
		"group-id":         d.intPtrField(&s.GroupID),
		"group":            d.strField(&s.Group),
		"working-dir":      d.strField(&s.WorkingDir),
		"on-success":       enumField(d, &s.OnSuccess),
		"on-failure":       enumField(d, &s.OnFailure),
		"on-check-failure": d.actionMapField(&s.OnCheckFailure),
		"backoff-delay":    d.durationField(&s.BackoffDelay),
		"backoff-factor":   d.floatField(&s.BackoffFactor),
		"backoff-limit":    d.durationField(&s.BackoffLimit),
		"kill-delay":       d.durationField(&s.KillDelay),
		"limits":           d.limits(&s.Limits, what),
		"charge-group":     d.chargeGroupField(&s.ChargeGroup),
		"readiness":        d.readinessField(what, &s.Readiness),
		"start-timeout":    d.durationField(&s.StartTimeout),
		"type":             enumField(d, &s.Type),

		"restart-limit":      d.intPtrField(&s.RestartLimit),
		"restart-window":     d.durationField(&s.RestartWindow),
		"on-restart-limit":   enumField(d, &s.OnRestartLimit),
		"success-exit-codes": d.intListField(&s.SuccessExitCodes),
		"stop-signal":        d.strField(&s.StopSignal),
		"reload-signal":      d.strField(&s.ReloadSignal),
		"reload-command":     d.strField(&s.ReloadCommand),

		"schedule": d.strField(&s.Schedule),
	})
	return s, err
}

func (d *decoder) check(name string, n *yaml.Node) (*Check, error) {
	c := &Check{Name: name}
	what := fmt.Sprintf("check %q", name)
	err := d.fields(n, what, "", map[string]field{
		"override":     enumField(d, &c.Override),
		"level":        enumField(d, &c.Level),
		"startup":      enumField(d, &c.Startup),
		"period":       d.durationField(&c.Period),
		"timeout":      d.durationField(&c.Timeout),
		"threshold":    d.intField(&c.Threshold),
		"start-period": d.durationField(&c.StartPeriod),
		"http": func(n *yaml.Node) error {
			if isNull(n) {
				return nil
			}
			h := &HTTPCheck{}
			c.HTTP = h
			return d.fields(n, what, "http.", map[string]field{
				"url":     d.strField(&h.URL),
				"headers": d.mapField(&h.Headers),
			})
		},
		"tcp": func(n *yaml.Node) error {
			if isNull(n) {
				return nil
			}
			t := &TCPCheck{}
			c.TCP = t
			return d.fields(n, what, "tcp.", map[string]field{
				"port": d.intField(&t.Port),
				"host": d.strField(&t.Host),
			})
		},
		"exec": func(n *yaml.Node) error {
			if isNull(n) {
				return nil
			}
			e := &ExecCheck{}
			c.Exec = e
			return d.fields(n, what, "exec.", map[string]field{
				"command":         d.strField(&e.Command),
				"service-context": d.strField(&e.ServiceContext),
				"environment":     d.mapField(&e.Environment),
				"user-id":         d.intPtrField(&e.UserID),
				"user":            d.strField(&e.User),
				"group-id":        d.intPtrField(&e.GroupID),
				"group":           d.strField(&e.Group),
				"working-dir":     d.strField(&e.WorkingDir),
			})
		},
	})
	return c, err
}

func (d *decoder) logTarget(name string, n *yaml.Node) (*LogTarget, error) {
	t := &LogTarget{Name: name}
	err := d.fields(n, fmt.Sprintf("log target %q", name), "", map[string]field{
		"type":     enumField(d, &t.Type),
		"location": d.strField(&t.Location),
		"services": d.listField(&t.Services),
		"override": enumField(d, &t.Override),
		"labels":   d.mapField(&t.Labels),
	})
	return t, err
}

func (d *decoder) workload(name string, n *yaml.Node) (*Workload, error) {
	w := &Workload{Name: name}
	err := d.fields(n, fmt.Sprintf("workload %q", name), "", map[string]field{
		"override":    enumField(d, &w.Override),
		"environment": d.mapField(&w.Environment),
		"user-id":     d.intPtrField(&w.UserID),
		"user":        d.strField(&w.User),
		"group-id":    d.intPtrField(&w.GroupID),
		"group":       d.strField(&w.Group),
	})
	return w, err
}

func (d *decoder) pairing(n *yaml.Node) (*Pairing, error) {
	n, err := d.resolve(n)
	if err != nil || isNull(n) {
		return nil, err
	}
	p := &Pairing{}
	err = d.fields(n, "pairing", "", map[string]field{
		"mode": enumField(d, &p.Mode),
	})
	if err != nil || p.Mode == PairingUnset {
		return nil, err // a section without a mode sets nothing
	}
	return p, nil
}

// pair is one key/value of a mapping, with aliases resolved.
type pair struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// pairs returns the entries of a mapping in document order. Merge keys
// ("<<") are expanded, explicit keys winning; a duplicate key is an error;
// null is an empty mapping.
func (d *decoder) pairs(n *yaml.Node) ([]pair, error) {
	n, err := d.resolve(n)
	if err != nil {
		return nil, err
	}
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "expected a mapping, not %s", kindName(n))
	}
	var (
		out    []pair
		seen   = map[string]*yaml.Node{}
		merged []pair
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := d.resolve(n.Content[i])
		if err != nil {
			return nil, err
		}
		v, err := d.resolve(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, errAt(k, "mapping keys must be strings, not %s", kindName(k))
		}
		if k.ShortTag() == "!!merge" {
			m, err := d.mergePairs(v)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			return nil, errAt(k, "mapping key %q already defined at line %d", k.Value, first.Line)
		}
		seen[k.Value] = k
		out = append(out, pair{key: k.Value, keyNode: k, value: v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key]; !ok {
			seen[p.key] = p.keyNode
			out = append(out, p)
		}
	}
	return out, nil
}

// mergePairs returns the pairs a merge key brings in: one mapping or a
// sequence of mappings, earlier ones winning.
func (d *decoder) mergePairs(v *yaml.Node) ([]pair, error) {
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		sources = v.Content
	default:
		return nil, errAt(v, "merge key needs a mapping or a sequence of mappings")
	}
	var out []pair
	seen := map[string]bool{}
	for _, s := range sources {
		s, err := d.resolve(s)
		if err != nil {
			return nil, err
		}
		if s.Kind != yaml.MappingNode {
			return nil, errAt(s, "merge key needs a mapping or a sequence of mappings")
		}
		ps, err := d.pairs(s)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !seen[p.key] {
				seen[p.key] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// resolve follows aliases and counts the work done.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil, errAt(n, "too many nested aliases")
		}
		n = n.Alias
	}
	d.visits++
	if d.visits > d.maxVisits {
		return nil, errAt(n, "document is too complex")
	}
	if n == nil {
		return nil, errors.New("invalid alias")
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
	}
	return "an unexpected node"
}

// str decodes a scalar as a string; any scalar type is accepted (YAML
// `A: 1` gives "1"), null leaves dst alone.
func (d *decoder) str(n *yaml.Node, dst *string) error {
	n, err := d.resolve(n)
	if err != nil {
		return err
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "expected a string, not %s", kindName(n))
	}
	*dst = n.Value
	return nil
}

func (d *decoder) strField(dst *string) field {
	return func(n *yaml.Node) error { return d.str(n, dst) }
}

func enumField[T ~string](d *decoder, dst *T) field {
	return func(n *yaml.Node) error {
		var s string
		if err := d.str(n, &s); err != nil {
			return err
		}
		*dst = T(s)
		return nil
	}
}

func (d *decoder) listField(dst *[]string) field {
	return func(n *yaml.Node) error {
		var list []string // an empty list is left nil, like an empty map
		set := false
		err := d.seqField("a list", func(_ int, item *yaml.Node) error {
			var s string
			if err := d.str(item, &s); err != nil {
				return err
			}
			list = append(list, s)
			return nil
		}, &set)(n)
		if set {
			*dst = list
		}
		return err
	}
}

// seqField decodes a sequence, calling item for each element in order;
// null is left alone. expected names the sequence in the error about
// another kind of node ("a list"). set, if not nil, is set once the field
// holds a sequence.
func (d *decoder) seqField(expected string, item func(i int, n *yaml.Node) error, set *bool) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		if n.Kind != yaml.SequenceNode {
			return errAt(n, "expected %s, not %s", expected, kindName(n))
		}
		for i, c := range n.Content {
			if err := item(i, c); err != nil {
				return err
			}
		}
		if set != nil {
			*set = true
		}
		return nil
	}
}

func (d *decoder) strMap(n *yaml.Node) (map[string]string, error) {
	pairs, err := d.pairs(n)
	if err != nil || pairs == nil {
		return nil, err
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		var s string
		if err := d.str(p.value, &s); err != nil {
			return nil, err
		}
		m[p.key] = s
	}
	return m, nil
}

func (d *decoder) mapField(dst *map[string]string) field {
	return func(n *yaml.Node) error {
		m, err := d.strMap(n)
		if err != nil {
			return err
		}
		*dst = m
		return nil
	}
}

func (d *decoder) actionMapField(dst *map[string]ServiceAction) field {
	return func(n *yaml.Node) error {
		m, err := d.strMap(n)
		if err != nil || m == nil {
			return err
		}
		out := make(map[string]ServiceAction, len(m))
		for k, v := range m {
			out[k] = ServiceAction(v)
		}
		*dst = out
		return nil
	}
}

// integer decodes an integer scalar; ok is false for null.
func (d *decoder) integer(n *yaml.Node) (v int, ok bool, err error) {
	n, err = d.resolve(n)
	if err != nil || isNull(n) {
		return 0, false, err
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false, errAt(n, "expected an integer, not %s", kindName(n))
	}
	if err := n.Decode(&v); err != nil {
		return 0, false, errAt(n, "invalid integer %q", n.Value)
	}
	return v, true, nil
}

func (d *decoder) intField(dst *int) field {
	return func(n *yaml.Node) error {
		v, ok, err := d.integer(n)
		if ok {
			*dst = v
		}
		return err
	}
}

func (d *decoder) intPtrField(dst **int) field {
	return func(n *yaml.Node) error {
		v, ok, err := d.integer(n)
		if ok {
			*dst = &v
		}
		return err
	}
}

// durationField decodes a Go duration written as a YAML scalar
// (layers.md §10). Null leaves the field unset.
func (d *decoder) durationField(dst *OptionalDuration) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		if n.Kind != yaml.ScalarNode {
			return errors.New("duration must be a YAML string")
		}
		v, err := time.ParseDuration(n.Value)
		if err != nil {
			return fmt.Errorf("invalid duration %q", n.Value)
		}
		*dst = OptionalDuration{Value: v, IsSet: true}
		return nil
	}
}

// floatField decodes a number written as a YAML scalar. Null leaves the
// field unset.
func (d *decoder) floatField(dst *OptionalFloat) field {
	return func(n *yaml.Node) error {
		n, err := d.resolve(n)
		if err != nil || isNull(n) {
			return err
		}
		if n.Kind != yaml.ScalarNode {
			return errors.New("value must be a YAML number")
		}
		var v float64
		if tag := n.ShortTag(); tag == "!!float" || tag == "!!int" {
			err = n.Decode(&v) // YAML forms such as .inf and 0x10
		} else {
			v, err = strconv.ParseFloat(n.Value, 64) // e.g. a quoted "1.5"
		}
		if err != nil {
			return fmt.Errorf("invalid floating-point number %q", n.Value)
		}
		*dst = OptionalFloat{Value: v, IsSet: true}
		return nil
	}
}
