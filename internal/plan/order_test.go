package plan

import (
	"reflect"
	"strings"
	"testing"
)

// testPlan builds a plan straight from a compact description, bypassing
// validation so that loops can be tested: each spec is
// "name: requires=a,b after=c before=d".
func testPlan(specs ...string) *Plan {
	p := &Plan{Services: map[string]*Service{}}
	for _, spec := range specs {
		name, rest, _ := strings.Cut(spec, ":")
		s := &Service{Name: name, Override: ReplaceOverride, Command: "/bin/" + name}
		for _, f := range strings.Fields(rest) {
			key, list, _ := strings.Cut(f, "=")
			vals := strings.Split(list, ",")
			switch key {
			case "requires":
				s.Requires = vals
			case "after":
				s.After = vals
			case "before":
				s.Before = vals
			default:
				panic("bad spec " + spec)
			}
		}
		p.Services[name] = s
	}
	return p
}

func TestStartStopOrder(t *testing.T) {
	tests := []struct {
		name  string
		plan  *Plan
		start []string
		want  [][]string
		stop  []string
		wantS [][]string
	}{{
		name:  "requires and after share a lane",
		plan:  testPlan("a: requires=b after=b", "b:"),
		start: []string{"a"}, want: [][]string{{"b", "a"}},
		stop: []string{"b"}, wantS: [][]string{{"a", "b"}},
	}, {
		name:  "before is the mirror of after",
		plan:  testPlan("a: requires=b", "b: before=a"),
		start: []string{"a"}, want: [][]string{{"b", "a"}},
		stop: []string{"b"}, wantS: [][]string{{"a", "b"}},
	}, {
		name:  "requires alone does not order",
		plan:  testPlan("a: requires=b", "b:"),
		start: []string{"a"}, want: [][]string{{"a", "b"}},
		stop: []string{"a"}, wantS: [][]string{{"a"}},
	}, {
		name:  "after without requires gives separate lanes",
		plan:  testPlan("a: after=b", "b:"),
		start: []string{"a", "b"}, want: [][]string{{"b"}, {"a"}},
		stop: []string{"a", "b"}, wantS: [][]string{{"a"}, {"b"}},
	}, {
		name:  "after a service outside the set is ignored",
		plan:  testPlan("a: after=b,ghost", "b:"),
		start: []string{"a"}, want: [][]string{{"a"}},
		stop: []string{"b"}, wantS: [][]string{{"b"}},
	}, {
		name:  "unrelated services",
		plan:  testPlan("c:", "a:", "b:"),
		start: []string{"c", "a", "b", "a"}, want: [][]string{{"a"}, {"b"}, {"c"}},
		stop: []string{"b"}, wantS: [][]string{{"b"}},
	}, {
		name:  "chain stops dependents first",
		plan:  testPlan("a:", "b: requires=a after=a", "c: requires=b after=b"),
		start: []string{"c"}, want: [][]string{{"a", "b", "c"}},
		stop: []string{"a"}, wantS: [][]string{{"c", "b", "a"}},
	}, {
		name:  "diamond",
		plan:  testPlan("a: requires=b,c after=b,c", "b: requires=d after=d", "c: requires=d after=d", "d:"),
		start: []string{"a"}, want: [][]string{{"d", "b", "c", "a"}},
		stop: []string{"d"}, wantS: [][]string{{"a", "b", "c", "d"}},
	}, {
		name:  "pulled requirement keeps its lane",
		plan:  testPlan("x: requires=y", "y:", "z:"),
		start: []string{"x", "y", "z"}, want: [][]string{{"x", "y"}, {"z"}},
		stop: []string{"y", "z"}, wantS: [][]string{{"x", "y"}, {"z"}},
	}, {
		name:  "two groups",
		plan:  testPlan("web: requires=db after=db", "db:", "worker: requires=queue after=queue", "queue:"),
		start: []string{"web", "worker"}, want: [][]string{{"db", "web"}, {"queue", "worker"}},
		stop: []string{"db", "queue"}, wantS: [][]string{{"web", "db"}, {"worker", "queue"}},
	}, {
		name:  "requires loop is not an ordering loop",
		plan:  testPlan("a: requires=b", "b: requires=a"),
		start: []string{"a"}, want: [][]string{{"a", "b"}},
		stop: []string{"a"}, wantS: [][]string{{"a", "b"}},
	}, {
		name:  "self after is ignored",
		plan:  testPlan("a: after=a"),
		start: []string{"a"}, want: [][]string{{"a"}},
		stop: []string{"a"}, wantS: [][]string{{"a"}},
	}, {
		name:  "nothing requested",
		plan:  testPlan("a:"),
		start: nil, want: nil,
		stop: []string{}, wantS: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.plan.StartOrder(tt.start)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StartOrder(%q) = %q, %v; want %q", tt.start, got, err, tt.want)
			}
			got, err = tt.plan.StopOrder(tt.stop)
			if err != nil || !reflect.DeepEqual(got, tt.wantS) {
				t.Errorf("StopOrder(%q) = %q, %v; want %q", tt.stop, got, err, tt.wantS)
			}
		})
	}
}

func TestOrderErrors(t *testing.T) {
	loop := testPlan("a: after=b requires=b", "b: after=c", "c: after=a", "d:", "e: requires=ghost")
	tests := []struct {
		names []string
		stop  bool
		err   string
	}{
		{names: []string{"x"}, err: `service "x" does not exist`},
		{names: []string{"x"}, stop: true, err: `service "x" does not exist`},
		{names: []string{"e"}, err: `service "ghost" does not exist`},
		{names: []string{"a", "b", "c"}, err: `services in before/after loop: a, b, c`},
		{names: []string{"c", "a", "b"}, stop: true, err: `services in before/after loop: a, b, c`},
	}
	for _, tt := range tests {
		var err error
		if tt.stop {
			_, err = loop.StopOrder(tt.names)
		} else {
			_, err = loop.StartOrder(tt.names)
		}
		checkErr(t, strings.Join(tt.names, ","), err, tt.err)
	}
	// A loop only matters among the services involved.
	if got, err := loop.StartOrder([]string{"a", "d"}); err != nil || !reflect.DeepEqual(got, [][]string{{"b", "a"}, {"d"}}) {
		t.Errorf("StartOrder(a, d) = %q, %v", got, err)
	}
}

func TestOrderIsDeterministic(t *testing.T) {
	p := testPlan("s1: requires=s2", "s2: after=s3", "s3:", "s4: before=s1", "s5:", "s6: requires=s5 after=s5")
	names := []string{"s6", "s1", "s4", "s5", "s3"}
	first, err := p.StartOrder(names)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		got, _ := p.StartOrder(names)
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("order changed: %q then %q", first, got)
		}
	}
}
