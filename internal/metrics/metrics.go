// Package metrics writes metrics in the Prometheus text format that
// GET /v1/metrics serves (api.md §8). It only formats: each owner of a
// metric (servstate, checks, logfwd) collects its values and writes its
// families through a Writer, and the API concatenates them.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kind is a metric's type.
type Kind string

// The metric types used.
const (
	Gauge   Kind = "gauge"
	Counter Kind = "counter"
)

// Sample is one value of a metric with its labels, in order.
type Sample struct {
	Labels []Label
	// Value is written as an integer when it has no fraction.
	Value float64
}

// Label is one name="value" pair.
type Label struct{ Name, Value string }

// Family is a metric: its name, help text, type and samples.
type Family struct {
	Name string
	Help string
	Kind Kind
	// Samples each become one line.
	Samples []Sample
}

// Writer writes families to an io.Writer; call Flush at the end. Each
// family must be written once, with all its samples: the text format allows
// one "# HELP" and "# TYPE" per name, and Prometheus rejects a second.
type Writer struct {
	w    *bufio.Writer
	seen map[string]bool
	// dup is the first family written twice; Flush reports it.
	dup string
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), seen: make(map[string]bool)}
}

// Write writes one block: "# HELP", "# TYPE", one line per sample and an
// empty line. A family without samples writes nothing.
func (w *Writer) Write(f Family) {
	if len(f.Samples) == 0 {
		return
	}
	if w.seen[f.Name] {
		if w.dup == "" {
			w.dup = f.Name
		}
		return
	}
	w.seen[f.Name] = true
	w.w.WriteString("# HELP " + f.Name + " " + escapeHelp(f.Help) + "\n")
	w.w.WriteString("# TYPE " + f.Name + " " + string(f.Kind) + "\n")
	for _, s := range f.Samples {
		w.w.WriteString(f.Name)
		if len(s.Labels) > 0 {
			w.w.WriteByte('{')
			for i, l := range s.Labels {
				if i > 0 {
					w.w.WriteByte(',')
				}
				w.w.WriteString(l.Name + `="` + escapeLabel(l.Value) + `"`)
			}
			w.w.WriteByte('}')
		}
		w.w.WriteByte(' ')
		w.w.WriteString(strconv.FormatFloat(s.Value, 'f', -1, 64))
		w.w.WriteByte('\n')
	}
	w.w.WriteByte('\n')
}

// Flush writes out what is buffered. It fails if a family was written
// twice (the second was left out).
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	if w.dup != "" {
		return fmt.Errorf("cannot write metric family %q twice", w.dup)
	}
	return nil
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
