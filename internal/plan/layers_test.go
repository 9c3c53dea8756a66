package plan

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExampleLayers checks that the example layers of the repository (the
// top-level layers directory) each parse and validate; planstate's
// TestExampleLayersDir loads them as a directory.
func TestExampleLayers(t *testing.T) {
	dir := filepath.Join("..", "..", "layers")
	matches, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) == 0 {
		t.Skip("no example layers in ../../layers")
	}
	for _, path := range matches {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseLayer(1000, filepath.Base(path), data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if _, err := NewPlan([]*Layer{l}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}
