package planstate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/plan/planyaml"
)

func load(t *testing.T, files map[string]string) *State {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layers")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	s, err := Load(dir)
	require.NoError(t, err)
	return s
}

func TestLoadMissingDirIsEmptyPlan(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "nope"))
	require.NoError(t, err)
	data, err := planyaml.Plan(s.Plan())
	require.NoError(t, err)
	assert.Equal(t, "{}\n", string(data))
}

// addLayer parses data as the layer label and adds it to s.
func addLayer(t *testing.T, s *State, label, data string, combine bool) error {
	t.Helper()
	l, err := plan.ParseLayer(0, label, []byte(data))
	require.NoError(t, err)
	return s.AddLayer(l, combine, false)
}

func TestAddLayerPublishes(t *testing.T) {
	s := load(t, map[string]string{"001-base.yaml": "services:\n  a:\n    override: replace\n    command: sleep 1\n"})
	var seen []*plan.Plan
	s.Subscribe(func(p *plan.Plan) { seen = append(seen, p) })
	require.Len(t, seen, 1, "Subscribe delivers the current plan at once")

	require.NoError(t, addLayer(t, s, "extra", "services:\n  b:\n    override: replace\n    command: sleep 2\n", false))
	require.Len(t, seen, 2)
	assert.Contains(t, seen[1].Services, "b")
	assert.Same(t, seen[1], s.Plan())
}

func TestBadLayerLeavesPlanAlone(t *testing.T) {
	s := load(t, map[string]string{"001-base.yaml": "services:\n  a:\n    override: replace\n    command: sleep 1\n"})
	before := s.Plan()
	published := 0
	s.Subscribe(func(*plan.Plan) { published++ })
	tests := []struct {
		label, layer, err string
	}{
		{"x", "services:\n  b:\n    override: replace\n", `plan must define "command" for service "b"`},
		{"x", "services:\n  b:\n    override: replace\n    command: x\n    requires: [zz]\n", `service "zz" does not exist`},
		{"base", "services: {}\n", `layer "base" already exists`},
		{"x", "workloads:\n  w:\n    override: replace\n", `cannot change immutable section "workloads"`},
	}
	for _, tt := range tests {
		err := addLayer(t, s, tt.label, tt.layer, false)
		require.Error(t, err, tt.layer)
		var invalid *InvalidLayerError
		assert.ErrorAs(t, err, &invalid)
		assert.Contains(t, err.Error(), tt.err)
		assert.Same(t, before, s.Plan(), "the plan is unchanged after %q", tt.layer)
	}
	assert.Equal(t, 1, published, "no plan was published after the first")
}

func TestCombineIntoExistingLabel(t *testing.T) {
	s := load(t, map[string]string{"001-base.yaml": "services:\n  a:\n    override: replace\n    command: sleep 1\n"})
	require.NoError(t, addLayer(t, s, "base", "services:\n  a:\n    override: merge\n    command: sleep 9\n", true))
	assert.Equal(t, "sleep 9", s.Plan().Services["a"].Command)
	assert.Len(t, s.Plan().Layers, 1)
}

// TestAppendServiceArgsLayer: the layer of `pebble run --args` carries the
// reserved label and is still accepted, on top of the stack; a client
// cannot add a layer with that label.
func TestAppendServiceArgsLayer(t *testing.T) {
	s := load(t, map[string]string{"001-base.yaml": "services:\n  a:\n    override: replace\n    command: echo [ x ]\n"})
	var seen []*plan.Plan
	s.Subscribe(func(p *plan.Plan) { seen = append(seen, p) })

	l, err := plan.ServiceArgsLayer(s.Plan(), map[string][]string{"a": {"y", "z"}})
	require.NoError(t, err)
	require.NoError(t, s.AppendLayer(l))
	require.Len(t, seen, 2)
	p := s.Plan()
	assert.Equal(t, "echo [ y z ]", p.Services["a"].Command)
	require.Len(t, p.Layers, 2)
	assert.Equal(t, plan.ServiceArgsLabel, p.Layers[1].Label)
	assert.Greater(t, p.Layers[1].Order, p.Layers[0].Order)

	reserved := &plan.Layer{Label: plan.ServiceArgsLabel, Services: map[string]*plan.Service{}}
	err = s.AddLayer(reserved, true, false)
	assert.ErrorContains(t, err, `cannot use reserved label prefix "pebble-"`)
	assert.Same(t, p, s.Plan())
}
