package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Write(Family{Name: "pebble_service_active", Help: "Whether the service is currently active (1) or not (0)", Kind: Gauge,
		Samples: []Sample{{Labels: []Label{{"service", "srv1"}}, Value: 1}}})
	w.Write(Family{Name: "pebble_service_cpu_seconds_total", Help: "CPU\\time\nused", Kind: Counter,
		Samples: []Sample{{Labels: []Label{{"service", `a"b\c`}}, Value: 1.25}, {Value: 0}}})
	require.NoError(t, w.Flush())
	assert.Equal(t, `# HELP pebble_service_active Whether the service is currently active (1) or not (0)
# TYPE pebble_service_active gauge
pebble_service_active{service="srv1"} 1

# HELP pebble_service_cpu_seconds_total CPU\\time\nused
# TYPE pebble_service_cpu_seconds_total counter
pebble_service_cpu_seconds_total{service="a\"b\\c"} 1.25
pebble_service_cpu_seconds_total 0

`, b.String())
}

func TestWriterOneBlockPerFamily(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Write(Family{Name: "pebble_check_up", Help: "up", Kind: Gauge})
	w.Write(Family{Name: "a", Help: "x", Kind: Gauge, Samples: []Sample{{Value: 1}}})
	w.Write(Family{Name: "a", Help: "x", Kind: Gauge, Samples: []Sample{{Value: 2}}})
	assert.EqualError(t, w.Flush(), `cannot write metric family "a" twice`)
	assert.Equal(t, "# HELP a x\n# TYPE a gauge\na 1\n\n", b.String(), "no samples, no block; no second block")
}
