// Package metrics writes metrics in the Prometheus text format that
// GET /v1/metrics serves (api.md §8). It only formats: callers collect the
// values.
package metrics

import (
	"bufio"
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

// Writer writes families to an io.Writer; call Flush at the end.
type Writer struct {
	w *bufio.Writer
}

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Write writes one block: "# HELP", "# TYPE", one line per sample and an
// empty line.
func (w *Writer) Write(f Family) {
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

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	return w.w.Flush()
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
