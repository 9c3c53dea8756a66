package reliability

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayerCostFlat adds 1,000 layers one by one, each with a service of
// its own, and compares the time of an add among the first hundred with
// one among the last hundred (medians, so that a busy machine's outliers
// do not decide). Before the plan was extended incrementally, every add
// combined and validated all the layers again.
func TestLayerCostFlat(t *testing.T) {
	d := run.Start(t, run.NewDir(t, nil))
	const layers = 1000
	times := make([]time.Duration, 0, layers)
	for i := range layers {
		layer := fmt.Sprintf("services:\n    svc%d:\n        override: replace\n        command: sleep 300\n        after: [svc%d]\n", i, max(i-1, 0))
		start := time.Now()
		status, env := d.MustRequest("POST", "/v1/layers", map[string]any{"action": "add", "label": fmt.Sprintf("l%d", i), "format": "yaml", "layer": layer})
		times = append(times, time.Since(start))
		require.Equal(t, 200, status, env.Message())
	}
	first, last := median(times[:100]), median(times[layers-100:])
	ratio := float64(last) / float64(first)
	t.Logf("figure: adding layer 1-100 takes %v (median), layer 901-1000 %v: %.2f times as long", first, last, ratio)
	assert.Less(t, ratio, 2.0, "adding a layer gets slower as layers accumulate")
	d.Stop()
}

func median(times []time.Duration) time.Duration {
	sorted := slices.Clone(times)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}
