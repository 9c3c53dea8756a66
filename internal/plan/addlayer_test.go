package plan

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

func layerList(specs ...string) []*Layer {
	var layers []*Layer
	for _, spec := range specs {
		var order int
		var label string
		if _, err := fmt.Sscanf(spec, "%d %s", &order, &label); err != nil {
			panic(err)
		}
		layers = append(layers, newLayer(order, label))
	}
	return layers
}

func describe(layers []*Layer) []string {
	var out []string
	for _, l := range layers {
		out = append(out, fmt.Sprintf("%d %s", l.Order, l.Label))
	}
	return out
}

func TestAddLayerPlacement(t *testing.T) {
	tests := []struct {
		name  string
		stack []string
		label string
		inner bool
		want  []string
		err   string
	}{
		{name: "first layer", label: "base", want: []string{"1000 base"}},
		{name: "first sub layer", label: "sub/one", want: []string{"1001 sub/one"}},
		{name: "append", stack: []string{"1000 base"}, label: "app", want: []string{"1000 base", "2000 app"}},
		{name: "append sub", stack: []string{"1000 base"}, label: "sub/one", want: []string{"1000 base", "2001 sub/one"}},
		{name: "append after disk sub", stack: []string{"1000 base", "2002 bar/bbb"}, label: "app", want: []string{"1000 base", "2002 bar/bbb", "3000 app"}},
		{name: "next in top sub", stack: []string{"1000 base", "2001 sub/one"}, label: "sub/two", want: []string{"1000 base", "2001 sub/one", "2002 sub/two"}},
		{name: "inner required", stack: []string{"1000 base", "2001 sub/one", "3000 other"}, label: "sub/two",
			err: "cannot insert sub-directory layer without 'inner' attribute set"},
		{name: "inner", stack: []string{"1000 base", "2001 sub/one", "3000 other"}, label: "sub/two", inner: true,
			want: []string{"1000 base", "2001 sub/one", "2002 sub/two", "3000 other"}},
		{name: "inner after last of prefix", stack: []string{"2001 sub/one", "2002 sub/two", "3000 other"}, label: "sub/three", inner: true,
			want: []string{"2001 sub/one", "2002 sub/two", "2003 sub/three", "3000 other"}},
		{name: "prefix without slash", stack: []string{"1000 base", "2000 other"}, label: "base/x", inner: true,
			want: []string{"1000 base", "1001 base/x", "2000 other"}},
		{name: "inner ignored on append", stack: []string{"1000 base"}, label: "app", inner: true, want: []string{"1000 base", "2000 app"}},
		{name: "exists", stack: []string{"1000 base"}, label: "base", err: `layer "base" already exists`},
		{name: "empty label", label: "", err: "label must be set"},
		{name: "reserved label", label: "pebble-x", err: `cannot use reserved label prefix "pebble-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := layerList(tt.stack...)
			before := describe(stack)
			l := newLayer(42, tt.label)
			got, _, err := addLayer(stack, l, false, tt.inner)
			if tt.err != "" {
				checkErr(t, tt.name, err, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(describe(got), tt.want) {
				t.Errorf("stack = %q, want %q", describe(got), tt.want)
			}
			if !slices.Equal(describe(stack), before) || l.Order != 42 {
				t.Errorf("addLayer modified its inputs")
			}
		})
	}
}

func TestAddLayerCombine(t *testing.T) {
	base := mustParse(t, 1000, "base", `
summary: base
services:
    svc:
        override: replace
        command: /bin/one
        environment: {A: "1"}
`)
	top := mustParse(t, 2000, "top", "")
	upd := mustParse(t, 0, "base", `
summary: updated
services:
    svc:
        override: merge
        environment: {B: "2"}
    new:
        override: replace
        command: /bin/new
`)
	layers := []*Layer{base, top}
	got, _, err := addLayer(layers, upd, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(describe(got), []string{"1000 base", "2000 top"}) {
		t.Fatalf("stack = %q", describe(got))
	}
	folded := got[0]
	if folded.Summary != "updated" || folded.Services["new"] == nil ||
		!reflect.DeepEqual(folded.Services["svc"].Environment, map[string]string{"A": "1", "B": "2"}) ||
		folded.Services["svc"].Override != ReplaceOverride {
		t.Errorf("folded layer wrong: %#v %#v", folded, folded.Services["svc"])
	}
	if base.Summary != "base" || len(base.Services) != 1 || len(base.Services["svc"].Environment) != 1 {
		t.Errorf("addLayer modified the existing layer")
	}

	// combine with a new label appends.
	got, _, err = addLayer(layers, mustParse(t, 0, "fresh", ""), true, false)
	if err != nil || !slices.Equal(describe(got), []string{"1000 base", "2000 top", "3000 fresh"}) {
		t.Errorf("combine of new label: %q, %v", describe(got), err)
	}

	// Folding uses the override rules.
	bad := mustParse(t, 0, "base", "services:\n    svc:\n        command: x\n")
	_, _, err = addLayer(layers, bad, true, false)
	checkErr(t, "fold without override", err, `layer "base" must define "override" for service "svc"`)
}

func TestWithLayer(t *testing.T) {
	p := mustPlan(t, `
services:
    svc:
        override: replace
        command: /bin/svc
workloads:
    wl:
        override: replace
        user-id: 0
`)
	next, err := p.WithLayer(mustParse(t, 0, "more", "services:\n    other:\n        override: replace\n        command: /bin/other\n"), false, false)
	if err != nil {
		t.Fatal(err)
	}
	if next.Services["other"] == nil || len(next.Layers) != 2 || len(p.Layers) != 1 || p.Services["other"] != nil {
		t.Errorf("WithLayer result wrong or old plan modified")
	}
	// Re-stating the same workload is not a change.
	_, err = p.WithLayer(mustParse(t, 0, "same", "workloads:\n    wl:\n        override: merge\n        user-id: 0\n"), false, false)
	if err != nil {
		t.Errorf("unchanged workloads rejected: %v", err)
	}
	for _, doc := range []string{
		"workloads:\n    wl:\n        override: merge\n        user-id: 5\n",
		"workloads:\n    extra:\n        override: replace\n",
	} {
		_, err = p.WithLayer(mustParse(t, 0, "wl", doc), false, false)
		checkErr(t, doc, err, `cannot change immutable section "workloads"`)
	}
	// Adding the first workload is a change too.
	empty := mustPlan(t)
	_, err = empty.WithLayer(mustParse(t, 0, "wl", "workloads:\n    wl:\n        override: replace\n"), false, false)
	checkErr(t, "first workload", err, `cannot change immutable section "workloads"`)
	// Plan validation errors come through.
	_, err = p.WithLayer(mustParse(t, 0, "bad", "services:\n    x:\n        override: replace\n"), false, false)
	checkErr(t, "invalid plan", err, `plan must define "command" for service "x"`)
}

func TestServiceArgsLayer(t *testing.T) {
	p := mustPlan(t, `
services:
    echo:
        override: replace
        command: /bin/echo "default" [ --x 1 ]
    plain:
        override: replace
        command: /bin/plain -v
`)
	l, err := ServiceArgsLayer(p, map[string][]string{"echo": {"--y", "a b"}, "plain": {"it's", ""}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Label != "pebble-service-args" || l.Order != 1000 {
		t.Errorf("label/order = %q %d", l.Label, l.Order)
	}
	want := map[string]string{
		"echo":  `/bin/echo default [ --y 'a b' ]`,
		"plain": `/bin/plain -v [ 'it'"'"'s' '' ]`,
	}
	for name, cmd := range want {
		s := l.Services[name]
		if s == nil || s.Command != cmd || s.Override != MergeOverride {
			t.Errorf("%s: %#v, want command %s", name, s, cmd)
		}
	}
	next, err := NewPlan(append(p.Layers, l))
	if err != nil {
		t.Fatal(err)
	}
	base, extra, err := next.Services["plain"].ParseCommand()
	if err != nil || !slices.Equal(base, []string{"/bin/plain", "-v"}) || !slices.Equal(extra, []string{"it's", ""}) {
		t.Errorf("rebuilt command splits to %q %q, %v", base, extra, err)
	}

	l, err = ServiceArgsLayer(p, map[string][]string{"echo": nil})
	if err != nil || l.Services["echo"].Command != "/bin/echo default [ ]" {
		t.Errorf("no args: %v, %v", l, err)
	}
	_, err = ServiceArgsLayer(p, map[string][]string{"nope": {"x"}})
	checkErr(t, "unknown", err, `service "nope" not found in plan`)
}
