package checks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartPeriod: failures within the start-period count towards no
// threshold, however many; the first success ends it, and from then on
// threshold failures bring the check down as without start-period.
func TestStartPeriod(t *testing.T) {
	tg := newTarget(t)
	h := newHarness(t, nil)
	h.setPlan(strings.Replace(manualLayer, "threshold: 3", "threshold: 3\n        start-period: 1h", 1), tg.URL)

	tg.status.Store(500)
	for i := 1; i <= 5; i++ {
		res := h.refresh("web")
		require.Error(t, res.Err)
		assert.Equal(t, StatusUp, res.Info.Status, "failure %d in the start-period", i)
		assert.Equal(t, 0, res.Info.Failures, "failure %d in the start-period", i)
	}
	assert.Empty(t, h.failures(), "no action in the start-period")
	assert.Contains(t, h.logLines(), `Check "web" failure in its start-period (not counted): non-2xx status code 500`)

	tg.status.Store(200)
	require.NoError(t, h.refresh("web").Err)
	tg.status.Store(500)
	for i := 1; i <= 3; i++ {
		res := h.refresh("web")
		assert.Equal(t, i, res.Info.Failures, "failure %d after the first success", i)
	}
	assert.Equal(t, StatusDown, h.info("web").Status)
	assert.Equal(t, []string{"web"}, h.failures())
}
