package checks

import (
	"fmt"
	"time"

	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/plan"
)

// Hand-over across an in-place upgrade (docs/upgrade.md): the old daemon
// stops counting results (a result that arrives meanwhile is dropped, as if
// the check had run a moment later) and puts every check's counters and the
// change driving it in the document. The new daemon rebuilds the records
// before it gets the plan, and the change manager runs the checks' tasks on
// (Resume): each loop finds its run again and carries on counting.

// handoverPart is the name of the package's part of a hand-over.
const handoverPart = "checks"

// handedCheck is one check in a hand-over.
type handedCheck struct {
	Name            string `json:"name"`
	Successes       int    `json:"successes"`
	Failures        int    `json:"failures"`
	PrevID          string `json:"prev-change,omitempty"`
	MetricSuccesses int64  `json:"metric-successes"`
	MetricFailures  int64  `json:"metric-failures"`
	// Kind and Change are the run driving it; "" when inactive.
	Kind       string    `json:"kind,omitempty"`
	Change     string    `json:"change,omitempty"`
	GraceUntil time.Time `json:"grace-until,omitzero"`
}

// HandOver stops counting results and puts the checks' part into doc.
// Call Resume unless the exec happens.
func (m *Manager) HandOver(doc *handover.Document) error {
	m.mu.Lock()
	m.handedOver = true
	m.mu.Unlock()
	return m.Preview(doc)
}

// Preview puts the checks' part into doc, as it is now: the document of
// the new binary's check run.
func (m *Manager) Preview(doc *handover.Document) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var handed []handedCheck
	for _, name := range sortedKeys(m.checks) {
		c := m.checks[name]
		h := handedCheck{Name: name, Successes: c.successes, Failures: c.failures, PrevID: c.prevID,
			MetricSuccesses: c.metricSuccesses, MetricFailures: c.metricFailures}
		if r := c.run; r != nil {
			h.Kind, h.Change, h.GraceUntil = r.kind, r.changeID, r.graceUntil.Round(0)
		}
		handed = append(handed, h)
	}
	return doc.Put(handoverPart, handed)
}

// Resume counts results again after a HandOver whose exec did not happen.
func (m *Manager) Resume() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handedOver = false
}

// readChecks returns the checks' part of doc, checked.
func readChecks(doc *handover.Document) ([]handedCheck, error) {
	var handed []handedCheck
	if _, err := doc.Get(handoverPart, &handed); err != nil {
		return nil, err
	}
	for _, h := range handed {
		if h.Kind != "" && h.Kind != KindPerform && h.Kind != KindRecover {
			return nil, fmt.Errorf("cannot take over check %q: unknown run kind %q", h.Name, h.Kind)
		}
	}
	return handed, nil
}

// CheckHandover reads the checks' part of doc as TakeOver would.
func CheckHandover(doc *handover.Document) error {
	_, err := readChecks(doc)
	return err
}

// TakeOver rebuilds the checks handed over in doc that p still has, with
// their counters and runs, before SetPlan: a check whose run goes on keeps
// it, and its task, resumed by the change manager, finds it. A nil doc
// takes over nothing.
func (m *Manager) TakeOver(doc *handover.Document, p *plan.Plan) error {
	if doc == nil {
		return nil
	}
	handed, err := readChecks(doc)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, h := range handed {
		cfg := p.Checks[h.Name]
		if cfg == nil {
			continue
		}
		c := &check{name: h.Name, cfg: effectiveConfig(p, cfg), successes: h.Successes, failures: h.Failures,
			prevID: h.PrevID, metricSuccesses: h.MetricSuccesses, metricFailures: h.MetricFailures}
		if h.Change != "" {
			r := &run{check: c, cfg: c.cfg, kind: h.Kind, changeID: h.Change, graceUntil: h.GraceUntil,
				refresh: make(chan *refreshRequest), done: make(chan struct{})}
			m.runs[h.Change] = r
			c.run = r
		}
		m.checks[h.Name] = c
	}
	return nil
}
