package plan

import (
	"strings"
	"testing"
	"time"
)

// mustParse parses a layer or fails the test.
func mustParse(t *testing.T, order int, label, data string) *Layer {
	t.Helper()
	l, err := ParseLayer(order, label, []byte(data))
	if err != nil {
		t.Fatalf("cannot parse layer %q: %v", label, err)
	}
	return l
}

// mustPlan parses each YAML document as a layer (labels layer-0, layer-1,
// ...) and builds the plan, or fails the test.
func mustPlan(t *testing.T, docs ...string) *Plan {
	t.Helper()
	p, err := planFrom(docs...)
	if err != nil {
		t.Fatalf("cannot build plan: %v", err)
	}
	return p
}

func planFrom(docs ...string) (*Plan, error) {
	layers, err := parseAll(docs...)
	if err != nil {
		return nil, err
	}
	return NewPlan(layers)
}

func parseAll(docs ...string) ([]*Layer, error) {
	var layers []*Layer
	for i, doc := range docs {
		l, err := ParseLayer(i, "layer-"+string(rune('0'+i)), []byte(doc))
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return layers, nil
}

// checkErr reports whether err matches want: exactly, or, when want starts
// with "~", as a substring.
func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %q", what, want)
		return
	}
	if sub, ok := strings.CutPrefix(want, "~"); ok {
		if !strings.Contains(err.Error(), sub) {
			t.Errorf("%s: error %q does not contain %q", what, err, sub)
		}
		return
	}
	if err.Error() != want {
		t.Errorf("%s: error\n  got  %q\n  want %q", what, err, want)
	}
}

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) OptionalDuration { return OptionalDuration{Value: d, IsSet: true} }
