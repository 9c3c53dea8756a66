package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// The three columns of every row.
const (
	ours = iota
	canonical
	floor
	columns
)

var columnNames = [columns]string{"ours", "Pebble " + pebbleVersion, "floor"}

// row is one scenario's figures, one sample per round and column.
type row struct {
	name    string
	unit    string
	samples [columns][]float64
}

// table collects the rows in the order the scenarios first add them.
type table struct {
	rows []*row
}

// add records one round's figure of a column for the named scenario.
func (t *table) add(name, unit string, column int, value float64) {
	for _, r := range t.rows {
		if r.name == name {
			r.samples[column] = append(r.samples[column], value)
			return
		}
	}
	r := &row{name: name, unit: unit}
	r.samples[column] = []float64{value}
	t.rows = append(t.rows, r)
}

// median returns the median of xs and its range; ok is false when there are
// no samples.
func median(xs []float64) (med, lo, hi float64, ok bool) {
	if len(xs) == 0 {
		return 0, 0, 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1], true
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario\tunit\t%s\t%s\t%s\tours/floor\tours/Pebble\n", columnNames[ours], columnNames[canonical], columnNames[floor])
	for _, r := range t.rows {
		var meds [columns]float64
		var have [columns]bool
		cells := make([]string, 0, columns)
		for c := range columns {
			med, lo, hi, ok := median(r.samples[c])
			meds[c], have[c] = med, ok
			if !ok {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, fmt.Sprintf("%s (%s–%s)", figure(med), figure(lo), figure(hi)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.unit, strings.Join(cells, "\t"),
			ratio(meds[ours], meds[floor], have[ours] && have[floor]),
			ratio(meds[ours], meds[canonical], have[ours] && have[canonical]))
	}
	tw.Flush()
	fmt.Fprintf(w, "median (min–max) of %s; req/s and MB/s: higher is better, every other unit: lower is better\n", roundsText(t))
}

// roundsText names how many rounds the medians are of, from the samples.
func roundsText(t *table) string {
	most := 0
	for _, r := range t.rows {
		for _, s := range r.samples {
			most = max(most, len(s))
		}
	}
	if most == 1 {
		return "1 round"
	}
	return fmt.Sprintf("%d rounds", most)
}

// figure prints a value with three significant digits or so.
func figure(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
