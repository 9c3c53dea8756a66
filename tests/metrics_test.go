package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// burnLayer has a service whose child burns CPU for a while, then both
// sleep, and a service that is never started.
const burnLayer = `
services:
    burn:
        override: replace
        command: /bin/sh -c '(i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; exec sleep 1000) & exec sleep 1000'
    idle:
        override: replace
        command: sleep 1000
`

func (d *daemon) metricsText() string {
	d.t.Helper()
	resp, err := d.http.Get("http://localhost/v1/metrics")
	require.NoError(d.t, err)
	defer resp.Body.Close()
	require.Equal(d.t, 200, resp.StatusCode)
	assert.Equal(d.t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	data, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return string(data)
}

// TestMetricsAndStats checks /v1/metrics (api.md §8 plus the per-service
// resource metrics), the stats in /v1/services?stats=true and `pebble
// services --stats`.
func TestMetricsAndStats(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": burnLayer})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	assert.Regexp(t, `^# HELP pebble_daemon_goroutines [^\n]*\n# TYPE pebble_daemon_goroutines gauge\npebble_daemon_goroutines \d+\n\n`+
		`# HELP pebble_daemon_open_fds [^\n]*\n# TYPE pebble_daemon_open_fds gauge\npebble_daemon_open_fds \d+\n\n$`,
		d.metricsText(), "no service started yet: the daemon's own gauges only")
	d.waitChange(d.serviceAction("start", "burn"))

	var text string
	testutil.WaitFor(t, 30*time.Second, func() error {
		text = d.metricsText()
		m := regexp.MustCompile(`(?m)^pebble_service_cpu_seconds_total\{service="burn"\} (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			return fmt.Errorf("no CPU sample in:\n%s", text)
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v < 0.2 {
			return fmt.Errorf("CPU only %v so far", v)
		}
		return nil
	})
	assert.True(t, strings.HasPrefix(text, `# HELP pebble_service_active Whether the service is currently active (1) or not (0)
# TYPE pebble_service_active gauge
pebble_service_active{service="burn"} 1

# HELP pebble_service_start_count Number of times the service has started
# TYPE pebble_service_start_count counter
pebble_service_start_count{service="burn"} 1

# HELP pebble_service_cpu_seconds_total `), text)
	assert.Regexp(t, `(?m)^pebble_service_memory_bytes\{service="burn"\} [1-9][0-9]*$`, text)
	assert.Regexp(t, `(?m)^pebble_service_processes\{service="burn"\} 2$`, text)
	assert.NotContains(t, text, `service="idle"`, "services never started have no metrics")

	var infos []struct {
		Name  string `json:"name"`
		Stats *struct {
			CPUSeconds  float64 `json:"cpu-seconds"`
			MemoryBytes uint64  `json:"memory-bytes"`
			Processes   int     `json:"processes"`
		} `json:"stats"`
	}
	d.sync("GET", "/v1/services", nil, &infos)
	require.Len(t, infos, 2)
	assert.Nil(t, infos[0].Stats, "stats only on request")
	d.sync("GET", "/v1/services?stats=true", nil, &infos)
	require.Len(t, infos, 2)
	require.NotNil(t, infos[0].Stats, "burn has stats")
	assert.GreaterOrEqual(t, infos[0].Stats.CPUSeconds, 0.2)
	assert.Equal(t, 2, infos[0].Stats.Processes)
	assert.NotZero(t, infos[0].Stats.MemoryBytes)
	assert.Nil(t, infos[1].Stats, "idle was never started")

	out := d.mustPebble("services", "--stats")
	assert.Regexp(t, `^Service +Startup +Current +Since +CPU +User +System +Memory +Peak +Processes +FDs +Read +Written\n`+
		`burn +disabled +active +today at \S+ \S+ +(\d+\.\d\ds +){3}([0-9.]+[kMG]?B +){2}2 +\d+ +([0-9.]+[kMG]?B +)[0-9.]+[kMG]?B\n`+
		`idle +disabled +inactive +- +(- +){8}-\n$`, out)
	assert.NotContains(t, d.mustPebble("services", "--format=json"), "stats", "stats only on request")

	// A restart keeps counting: the counter never goes down.
	before := infos[0].Stats.CPUSeconds
	d.waitChange(d.serviceAction("restart", "burn"))
	d.sync("GET", "/v1/services?names=burn&stats=true", nil, &infos)
	assert.GreaterOrEqual(t, infos[0].Stats.CPUSeconds, before)
	assert.Contains(t, d.metricsText(), `pebble_service_start_count{service="burn"} 2`)
}

// TestPrometheusScrapesMetrics runs a real Prometheus server that scrapes
// the daemon's --http address with a metrics identity, and asks its query
// API for a service's CPU series.
func TestPrometheusScrapesMetrics(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("skipping: prometheus is not installed (scripts/install-test-deps.sh installs it when run as root)")
	}
	httpAddr := freeAddr(t)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": burnLayer})
	ids := filepath.Join(dir, "ids.yaml")
	writeFile(t, ids, "identities:\n    scraper:\n        access: metrics\n        basic:\n            password: \""+helloHash+"\"\n")
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold", "--http", httpAddr, "--identities", ids}})
	d.waitChange(d.serviceAction("start", "burn"))

	promDir := t.TempDir()
	promAddr := freeAddr(t)
	config := filepath.Join(promDir, "prometheus.yml")
	writeFile(t, config, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pebble
    metrics_path: /v1/metrics
    basic_auth:
      username: scraper
      password: "Hello world!"
    static_configs:
      - targets: ["%s"]
`, httpAddr))
	var promLog syncBuffer
	cmd := exec.Command(prom, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(promDir, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	cmd.Env = append(os.Environ(), "HOME="+promDir)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", promLog.String())
		}
	})

	query := func(q string) ([]float64, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  []any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, err
		}
		var vals []float64
		for _, r := range out.Data.Result {
			s, _ := r.Value[1].(string)
			v, _ := strconv.ParseFloat(s, 64)
			vals = append(vals, v)
		}
		return vals, nil
	}
	var cpu []float64
	testutil.WaitFor(t, 60*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", promLog.String())
		default:
		}
		up, err := query(`up{job="pebble"}`)
		if err != nil {
			return err
		}
		if len(up) != 1 || up[0] != 1 {
			return fmt.Errorf("target not up yet: %v", up)
		}
		cpu, err = query(`pebble_service_cpu_seconds_total{service="burn"}`)
		if err != nil {
			return err
		}
		if len(cpu) != 1 || cpu[0] <= 0 {
			return fmt.Errorf("no CPU series yet: %v", cpu)
		}
		return nil
	})
	t.Logf("Prometheus has pebble_service_cpu_seconds_total{service=\"burn\"} = %v", cpu[0])
	procs, err := query(`pebble_service_processes{service="burn"}`)
	require.NoError(t, err)
	assert.Equal(t, []float64{2}, procs)
	// Every scrape was authorised: no authz_fail for the scraper.
	assert.NotContains(t, d.stderr.String(), "authz_fail")
}

// pebbleSample matches a sample line of Pebble's own families as Pebble
// writes it (api.md §8): one label, an integer value.
var pebbleSample = regexp.MustCompile(`^pebble_(service_active|service_start_count)\{service="[^"]+"\} \d+$|^pebble_check_(up|success_count|failure_count)\{check="[^"]+"\} \d+$`)

// promtoolPebbleNames are the lint findings that Pebble's own metric names
// cause and that we keep for compatibility: its counters end in _count
// rather than _total.
var promtoolPebbleNames = regexp.MustCompile(`^pebble_(service_start|check_success|check_failure)_count (counter metrics should have "_total" suffix|non-histogram and non-summary metrics should not have "_count" suffix)$`)

// TestMetricsPassPromtool runs Prometheus's own checker on /v1/metrics
// with every family present: two started services in a charge group, an
// active and an inactive check, a log target. It must parse (one "# HELP" and "# TYPE"
// per family), and the linter may only object to Pebble's own counter
// names.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("skipping: promtool is not installed (scripts/install-test-deps.sh installs Debian's prometheus package, which has it, when run as root)")
	}
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    srv1:
        override: replace
        command: sleep 1000
        charge-group: team
    srv2:
        override: replace
        command: sleep 1000
        charge-group: team
    never:
        override: replace
        command: sleep 1000
checks:
    on:
        override: replace
        period: 1h
        exec:
            command: "true"
    off:
        override: replace
        startup: disabled
        exec:
            command: "true"
log-targets:
    nowhere:
        override: replace
        type: loki
        location: http://` + freeAddr(t) + `/loki/api/v1/push
        services: [all]
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	d.waitChange(d.serviceAction("start", "srv1", "srv2"))
	text := d.metricsText()
	for _, family := range []string{"pebble_service_active", "pebble_service_start_count", "pebble_service_cpu_seconds_total",
		"pebble_service_memory_bytes", "pebble_service_processes", "pebble_check_up", "pebble_check_success_count",
		"pebble_check_failure_count", "pebble_log_target_sent_total",
		"pebble_service_cpu_user_seconds_total", "pebble_service_cpu_system_seconds_total", "pebble_service_memory_peak_bytes",
		"pebble_service_open_fds", "pebble_service_io_read_bytes_total", "pebble_service_io_write_bytes_total",
		"pebble_service_oom_kills_total", "pebble_group_cpu_seconds_total", "pebble_group_cpu_user_seconds_total",
		"pebble_group_cpu_system_seconds_total", "pebble_group_memory_bytes", "pebble_group_memory_peak_bytes",
		"pebble_group_processes", "pebble_group_open_fds", "pebble_group_io_read_bytes_total",
		"pebble_group_io_write_bytes_total", "pebble_group_starts_total", "pebble_group_oom_kills_total"} {
		assert.Equal(t, 1, strings.Count(text, "# HELP "+family+" "), "one HELP for %s in:\n%s", family, text)
		assert.Equal(t, 1, strings.Count(text, "# TYPE "+family+" "), "one TYPE for %s", family)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "pebble_service_active") || strings.HasPrefix(line, "pebble_service_start_count") ||
			strings.HasPrefix(line, "pebble_check_") {
			assert.Regexp(t, pebbleSample, line)
		}
	}
	assert.Contains(t, text, "pebble_service_active{service=\"srv1\"} 1\npebble_service_active{service=\"srv2\"} 1\n\n")
	assert.Contains(t, text, "pebble_check_up{check=\"on\"} 1\n\n", "no pebble_check_up sample for the inactive check")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	// promtool exits 1 on a parse error and 3 on lint findings only.
	require.Contains(t, []int{0, 3}, code, "promtool check metrics: %s\non:\n%s", out, text)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" {
			assert.Regexp(t, promtoolPebbleNames, line, "a lint finding not caused by Pebble's own names")
		}
	}
}
