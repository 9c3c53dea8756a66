package system

import (
	"os"
	"runtime"

	"github.com/pebble-project/pebble/internal/metrics"
)

// selfMetrics writes the daemon process's own families of GET /v1/metrics
// (docs/metrics.md): its goroutines and open descriptors, so that a leak,
// for example across in-place upgrades, shows.
type selfMetrics struct{}

// WriteMetrics writes pebble_daemon_goroutines and pebble_daemon_open_fds.
func (selfMetrics) WriteMetrics(w *metrics.Writer) {
	w.Write(metrics.Family{Name: "pebble_daemon_goroutines", Kind: metrics.Gauge,
		Help:    "Number of goroutines of the daemon",
		Samples: []metrics.Sample{{Value: float64(runtime.NumGoroutine())}}})
	if n, ok := openFDs(); ok {
		w.Write(metrics.Family{Name: "pebble_daemon_open_fds", Kind: metrics.Gauge,
			Help:    "Number of file descriptors the daemon has open",
			Samples: []metrics.Sample{{Value: float64(n)}}})
	}
}

// openFDs counts the process's open descriptors, leaving out the one that
// reads them; false when /proc cannot tell.
func openFDs() (int, bool) {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return 0, false
	}
	return len(names) - 1, true
}
