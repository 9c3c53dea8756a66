package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		xs          []float64
		med, lo, hi float64
		ok          bool
	}{
		{nil, 0, 0, 0, false},
		{[]float64{3, 1, 2}, 2, 1, 3, true},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4, true},
	}
	for _, c := range cases {
		med, lo, hi, ok := median(c.xs)
		if med != c.med || lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("median(%v) = %v, %v, %v, %v; want %v, %v, %v, %v", c.xs, med, lo, hi, ok, c.med, c.lo, c.hi, c.ok)
		}
	}
}

func TestTablePrintsMediansRangesAndRatios(t *testing.T) {
	var tb table
	for _, v := range []float64{2, 4, 3} {
		tb.add("scenario a", "ms", ours, v)
	}
	for _, v := range []float64{6, 5, 7} {
		tb.add("scenario a", "ms", canonical, v)
	}
	tb.add("scenario a", "ms", floor, 1.5)
	tb.add("scenario b", "s", ours, 10)
	var out strings.Builder
	tb.print(&out)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, 2 rows and a legend, got:\n%s", out.String())
	}
	if !strings.Contains(lines[3], "of 3 rounds") {
		t.Errorf("legend does not name the 3 rounds: %s", lines[3])
	}
	for _, want := range []string{"3.00 (2.00–4.00)", "6.00 (5.00–7.00)", "1.50 (1.50–1.50)", "2.00×", "0.50×"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row a lacks %q: %s", want, lines[1])
		}
	}
	if fields := strings.Fields(lines[2]); fields[len(fields)-1] != "-" || fields[len(fields)-2] != "-" {
		t.Errorf("row b with no floor or Pebble figure should show no ratios: %s", lines[2])
	}
}
