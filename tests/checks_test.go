package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/testutil"
)

// checkTimeout bounds the waits for a check to change status: a few periods
// of at most 200 ms, with ample slack for a loaded machine.
const checkTimeout = 15 * time.Second

// probe is an HTTP server on a loopback port that health checks point at.
// It answers with the status the test sets, and it can go away and come
// back on the same port.
type probe struct {
	t      *testing.T
	addr   string
	status atomic.Int32
	hits   atomic.Int64

	mu  sync.Mutex
	srv *httptest.Server
}

func newProbe(t *testing.T) *probe {
	t.Helper()
	p := &probe{t: t}
	p.status.Store(200)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(p.stop)
	return p
}

func (p *probe) serve(l net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		code := int(p.status.Load())
		w.WriteHeader(code)
		fmt.Fprintf(w, "probe says %d\n", code)
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
}

func (p *probe) url() string { return "http://" + p.addr + "/health" }

// stop closes the listener and every connection: checks get "connection
// refused" until start.
func (p *probe) stop() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start listens again on the same port.
func (p *probe) start() {
	p.t.Helper()
	var l net.Listener
	testutil.WaitFor(p.t, 5*time.Second, func() error {
		var err error
		l, err = net.Listen("tcp", p.addr)
		return err
	})
	p.serve(l)
}

// checkInfo is an entry of GET /v1/checks (api.md §12.1).
type checkInfo struct {
	Name         string `json:"name"`
	Level        string `json:"level"`
	Startup      string `json:"startup"`
	Status       string `json:"status"`
	Successes    *int   `json:"successes"`
	Failures     int    `json:"failures"`
	Threshold    int    `json:"threshold"`
	ChangeID     string `json:"change-id"`
	PrevChangeID string `json:"prev-change-id"`
}

func (d *daemon) checks(query string) []checkInfo {
	d.t.Helper()
	var infos []checkInfo
	d.sync("GET", "/v1/checks"+query, nil, &infos)
	return infos
}

func (d *daemon) check(name string) checkInfo {
	d.t.Helper()
	infos := d.checks("?names=" + name)
	require.Len(d.t, infos, 1, "check %q", name)
	return infos[0]
}

// waitCheck waits until cond accepts the check's info and returns it.
func (d *daemon) waitCheck(name string, cond func(c checkInfo) error) checkInfo {
	d.t.Helper()
	var info checkInfo
	testutil.WaitFor(d.t, checkTimeout, func() error {
		info = d.check(name)
		return cond(info)
	})
	return info
}

func hasStatus(want string) func(c checkInfo) error {
	return func(c checkInfo) error {
		if c.Status != want {
			return fmt.Errorf("status %s (%+v), want %s", c.Status, c, want)
		}
		return nil
	}
}

// recovering accepts a check that is down and driven by the recover-check
// change that took over from change perform. The check reads down from the
// threshold on; the recover-check change takes over once the failure
// action ran.
func recovering(perform string) func(c checkInfo) error {
	return func(c checkInfo) error {
		if err := hasStatus("down")(c); err != nil {
			return err
		}
		if c.PrevChangeID != perform {
			return fmt.Errorf("previous change %q, want %s", c.PrevChangeID, perform)
		}
		return nil
	}
}

// health returns the HTTP status and "healthy" of GET /v1/health.
func (d *daemon) health(query string) (int, bool) {
	d.t.Helper()
	status, env := d.request("GET", "/v1/health"+query, nil)
	require.Equal(d.t, "sync", env.Type, "health type stays sync (api.md §7)")
	var res struct {
		Healthy bool `json:"healthy"`
	}
	require.NoError(d.t, json.Unmarshal(env.Result, &res))
	return status, res.Healthy
}

func (d *daemon) change(id string) change {
	d.t.Helper()
	var chg change
	d.sync("GET", "/v1/changes/"+id, nil, &chg)
	return chg
}

// logIndex returns the position of the first daemon log line containing
// text, or -1.
func logIndex(lines []string, text string) int {
	for i, l := range lines {
		if strings.Contains(l, text) {
			return i
		}
	}
	return -1
}

// TestCheckFailureRestartsService: an HTTP check whose server goes away
// fails exactly threshold times before it is down; the service with
// on-check-failure: restart is restarted once; the check recovers when the
// server comes back; /v1/health follows (behaviour.md §7).
func TestCheckFailureRestartsService(t *testing.T) {
	p := newProbe(t)
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
        on-check-failure:
            web: restart
checks:
    web:
        override: replace
        level: alive
        period: 100ms
        threshold: 3
        http:
            url: ` + p.url() + `
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	started := filepath.Join(dir, "started")
	require.Len(t, readLines(started), 1)

	up := d.waitCheck("web", func(c checkInfo) error {
		if c.Successes == nil || *c.Successes < 3 {
			return fmt.Errorf("successes %v", c.Successes)
		}
		return nil
	})
	assert.Equal(t, "up", up.Status)
	assert.Equal(t, "alive", up.Level)
	assert.Equal(t, 3, up.Threshold)
	perform := up.ChangeID
	code, healthy := d.health("")
	assert.Equal(t, 200, code)
	assert.True(t, healthy)

	// The server goes away: exactly three failures, then down.
	p.stop()
	down := d.waitCheck("web", recovering(perform))
	recover := down.ChangeID
	assert.GreaterOrEqual(t, down.Failures, 3)
	code, healthy = d.health("")
	assert.Equal(t, 502, code)
	assert.False(t, healthy)
	code, _ = d.health("?level=ready")
	assert.Equal(t, 502, code, "not alive implies not ready")

	chg := d.waitChange(perform)
	assert.Equal(t, "perform-check", chg.Kind)
	assert.Equal(t, `Perform HTTP check "web"`, chg.Summary)
	assert.Equal(t, "Error", chg.Status)
	errLines := strings.Split(chg.Err, "\n")
	require.Len(t, errLines, 4, "one line per failure up to the threshold: %q", chg.Err)
	assert.Equal(t, "cannot perform the following tasks:", errLines[0])
	refused := regexp.MustCompile(`^- Perform HTTP check "web" \(Get "` + regexp.QuoteMeta(p.url()) + `": dial tcp ` +
		regexp.QuoteMeta(p.addr) + `: connect: connection refused\)$`)
	for _, l := range errLines[1:] {
		assert.Regexp(t, refused, l)
	}
	rc := d.change(recover)
	assert.Equal(t, "recover-check", rc.Kind)
	assert.Equal(t, `Recover HTTP check "web"`, rc.Summary)
	assert.False(t, rc.Ready)

	// The service is restarted, once: the check keeps failing while it
	// recovers, and fires nothing more.
	waitLines(t, started, 2, checkTimeout)
	d.waitCheck("web", func(c checkInfo) error {
		if c.Failures < 12 {
			return fmt.Errorf("failures %d", c.Failures)
		}
		return nil
	})
	testutil.WaitFor(t, checkTimeout, func() error {
		if s := d.serviceStatus("svc"); s != "active" {
			return fmt.Errorf("svc is %s", s)
		}
		return nil
	})
	assert.Len(t, readLines(started), 2, "restarted exactly once")

	log := strings.Split(d.stderr.String(), "\n")
	f1 := logIndex(log, `Check "web" failure 1/3: Get "`+p.url()+`": dial tcp`)
	f2 := logIndex(log, `Check "web" failure 2/3: `)
	f3 := logIndex(log, `Check "web" failure 3/3: `)
	hit := logIndex(log, `Check "web" threshold 3 hit, triggering action and recovering`)
	restart := logIndex(log, `Service "svc" on-check-failure action is "restart", terminating process before restarting`)
	f4 := logIndex(log, `Check "web" failure 4/3: `)
	require.True(t, f1 >= 0 && f1 < f2 && f2 < f3 && f3 < hit && hit < restart && hit < f4,
		"log order: %d %d %d %d %d %d\n%s", f1, f2, f3, hit, restart, f4, d.stderr.String())
	assert.Equal(t, 1, strings.Count(d.stderr.String(), "threshold 3 hit"))
	assert.Equal(t, 1, strings.Count(d.stderr.String(), `on-check-failure action is "restart", terminating process`))
	assert.Contains(t, d.stderr.String(), `Service "svc" exited after check failure, restarting`)

	// The server comes back: the check recovers and health follows.
	p.start()
	back := d.waitCheck("web", hasStatus("up"))
	assert.Equal(t, recover, back.PrevChangeID)
	assert.Equal(t, 0, back.Failures)
	rc = d.waitChange(recover)
	assert.Equal(t, "Done", rc.Status)
	code, healthy = d.health("")
	assert.Equal(t, 200, code)
	assert.True(t, healthy)
	assert.Len(t, readLines(started), 2, "recovery restarts nothing")

	res := d.pebble("health")
	assert.Equal(t, cliResult{stdout: "healthy\n"}, cliResult{stdout: res.stdout, stderr: res.stderr, code: res.code})
	d.stop()
}

// TestHealthLevels: alive and ready checks aggregate as api.md §7 says, and
// inactive checks are ignored.
func TestHealthLevels(t *testing.T) {
	alive, ready, plain := newProbe(t), newProbe(t), newProbe(t)
	ready.status.Store(500)
	plain.status.Store(500)
	dir := newPebbleDir(t, map[string]string{"001-checks.yaml": `
checks:
    alive:
        override: replace
        level: alive
        period: 100ms
        threshold: 1
        http:
            url: ` + alive.url() + `
    ready:
        override: replace
        level: ready
        period: 100ms
        threshold: 1
        http:
            url: ` + ready.url() + `
    plain:
        override: replace
        period: 100ms
        threshold: 1
        http:
            url: ` + plain.url() + `
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	d.waitCheck("ready", hasStatus("down"))
	d.waitCheck("plain", hasStatus("down"))
	d.waitCheck("alive", func(c checkInfo) error {
		if c.Status != "up" || c.Successes == nil || *c.Successes < 1 {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})

	expect := func(query string, wantCode int) {
		t.Helper()
		code, healthy := d.health(query)
		assert.Equal(t, wantCode, code, "health%s", query)
		assert.Equal(t, wantCode == 200, healthy, "health%s", query)
	}
	expect("", 502)
	expect("?level=alive", 200)
	expect("?level=ready", 502)
	expect("?names=alive", 200)
	expect("?names=alive&names=plain", 502)
	expect("?names=alive,plain&level=alive", 200) // a level-less check counts only unfiltered
	expect("?names=nope", 200)

	status, env := d.request("GET", "/v1/health?level=bogus", nil)
	assert.Equal(t, 400, status)
	assert.Equal(t, `level must be "alive" or "ready"`, apiErrorOf(env).Message)

	// Level filters of GET /v1/checks match exactly.
	var names []string
	for _, c := range d.checks("?level=ready") {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"ready"}, names)

	// Metrics count every run since the daemon started (api.md §8).
	text := d.metricsText()
	assert.Contains(t, text, "# TYPE pebble_check_up gauge\npebble_check_up{check=\"alive\"} 1\n")
	assert.Contains(t, text, "pebble_check_up{check=\"ready\"} 0\n")
	assert.Regexp(t, `(?m)^pebble_check_success_count\{check="alive"\} [1-9][0-9]*$`, text)
	assert.Regexp(t, `(?m)^pebble_check_failure_count\{check="plain"\} [1-9][0-9]*$`, text)

	// Inactive checks are ignored.
	assert.Equal(t, "Checks stopped: plain, ready\n", d.mustPebble("stop-checks", "ready", "plain"))
	expect("", 200)
	expect("?level=ready", 200)
	text = d.metricsText()
	assert.NotContains(t, text, `pebble_check_up{check="plain"}`, "no up gauge for an inactive check")
	assert.Contains(t, text, `pebble_check_failure_count{check="plain"}`)

	// A down alive check makes ready unhealthy too.
	alive.status.Store(503)
	d.waitCheck("alive", hasStatus("down"))
	expect("?level=ready", 502)
	expect("?level=alive", 502)
	res := d.pebble("health", "--level=ready")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "unhealthy\n", res.stdout)
	res = d.pebble("health", "--level=ready", "--format=json")
	assert.Equal(t, 0, res.code)
	assert.Equal(t, `{"healthy":false}`+"\n", res.stdout)
	d.stop()
}

// TestChecksCommandsAndErrors drives start-checks, stop-checks, check
// --refresh and the checks table, and the API's error texts (api.md §12).
func TestChecksCommandsAndErrors(t *testing.T) {
	p := newProbe(t)
	dir := newPebbleDir(t, map[string]string{"001-checks.yaml": `
checks:
    web:
        override: replace
        level: ready
        period: 1h
        threshold: 2
        http:
            url: ` + p.url() + `
    extra:
        override: replace
        startup: disabled
        tcp:
            host: 127.0.0.1
            port: 1
`})
	d := startDaemon(t, dir, daemonOptions{})

	out := d.mustPebble("checks")
	rows := tableRows(out)
	require.Len(t, rows, 3, out)
	assert.Equal(t, []string{"Check", "Level", "Startup", "Status", "Successes", "Failures", "Change"}, rows[0])
	assert.Equal(t, []string{"extra", "-", "disabled", "inactive", "-", "-", "-"}, rows[1])
	web := d.check("web")
	assert.Equal(t, []string{"web", "ready", "enabled", "up", "0", "0/2", web.ChangeID}, rows[2])

	// Refresh runs the check now; a failure counts like a scheduled run.
	p.status.Store(500)
	res := d.pebble("check", "web", "--refresh")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "status: up\n")
	assert.Contains(t, res.stdout, "failures: 1\n")
	assert.Regexp(t, `\nerror: '?non-2xx status code 500; probe says 500'?\n`, res.stdout)
	assert.Contains(t, res.stdout, "ERROR non-2xx status code 500; probe says 500\n")
	out = d.mustPebble("checks", "web")
	assert.Contains(t, out, web.ChangeID+" (non-2xx status code 500; probe says 500)")
	var refreshed struct {
		Info  checkInfo `json:"info"`
		Error string    `json:"error"`
	}
	d.sync("POST", "/v1/checks/refresh", strings.NewReader(`{"name":"web"}`), &refreshed)
	assert.Equal(t, "down", refreshed.Info.Status)
	assert.Equal(t, 2, refreshed.Info.Failures)
	assert.Equal(t, "non-2xx status code 500; probe says 500", refreshed.Error)
	recoverID := refreshed.Info.ChangeID
	assert.Equal(t, "recover-check", d.change(recoverID).Kind)

	// An inactive check runs once; nothing is recorded.
	d.sync("POST", "/v1/checks/refresh", strings.NewReader(`{"name":"extra"}`), &refreshed)
	assert.Equal(t, "inactive", refreshed.Info.Status)
	assert.Equal(t, "dial tcp 127.0.0.1:1: connect: connection refused", refreshed.Error)

	assert.Equal(t, "Checks started: extra\n", d.mustPebble("start-checks", "extra", "web"))
	assert.Equal(t, "Checks already started.\n", d.mustPebble("start-checks", "extra"))
	assert.Equal(t, "up", d.check("extra").Status)
	assert.Equal(t, "Checks stopped: extra, web\n", d.mustPebble("stop-checks", "web", "extra"))
	stopped := d.check("web")
	assert.Equal(t, "inactive", stopped.Status)
	assert.Empty(t, stopped.ChangeID)
	assert.Equal(t, 2, stopped.Failures, "counters kept for inspection")
	assert.Equal(t, "Done", d.waitChange(recoverID).Status)
	assert.Contains(t, d.stderr.String(), `"event":"sys_monitor_disabled:`+strconv.Itoa(os.Getuid())+`,web"`)

	res = d.pebble("check", "nope")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: cannot find check \"nope\"\n", res.stderr)

	for _, tt := range []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/v1/checks", `{"action":"start","checks":[]}`, 400, "must specify checks for start action"},
		{"POST", "/v1/checks", `{"action":"pause","checks":["web"]}`, 400, `invalid action "pause"`},
		{"POST", "/v1/checks", `{"action":"stop","checks":["web","zz","aa"]}`, 400, "cannot stop checks: cannot find checks in plan: aa, zz"},
		{"POST", "/v1/checks", `{"action":`, 400, "cannot decode data from request body: unexpected EOF"},
		{"POST", "/v1/checks/refresh", `{}`, 400, "must specify check name"},
		{"POST", "/v1/checks/refresh", `{"name":"nope"}`, 404, `cannot find check with name "nope"`},
		{"GET", "/v1/checks?level=x", ``, 400, `level must be "alive" or "ready"`},
	} {
		status, env := d.request(tt.method, tt.path, strings.NewReader(tt.body))
		assert.Equal(t, tt.status, status, "%s %s %s", tt.method, tt.path, tt.body)
		assert.Equal(t, tt.msg, apiErrorOf(env).Message, "%s %s %s", tt.method, tt.path, tt.body)
	}
	d.stop()
}

// TestCheckOnFailureActions: shutdown exits 11, success-shutdown exits 0,
// ignore leaves the service alone (behaviour.md §7.5).
func TestCheckOnFailureActions(t *testing.T) {
	for _, tt := range []struct {
		action string
		code   int // -1: the daemon keeps running
	}{
		{"shutdown", 11},
		{"success-shutdown", 0},
		{"ignore", -1},
	} {
		t.Run(tt.action, func(t *testing.T) {
			p := newProbe(t)
			dir := newPebbleDir(t, nil)
			writeScript(t, dir, "svc.sh", longRunning)
			writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
        on-check-failure:
            web: ` + tt.action + `
checks:
    web:
        override: replace
        period: 100ms
        threshold: 2
        http:
            url: ` + p.url() + `
`})
			d := startDaemon(t, dir, daemonOptions{})
			require.Equal(t, "Done", d.waitAutostart().Status)
			p.status.Store(500)
			if tt.code >= 0 {
				assert.Equal(t, tt.code, d.waitExit(exitTimeout))
				d.requireCleanExit()
				assert.Contains(t, d.stderr.String(), `Service "svc" on-check-failure action is "`+tt.action+`"`)
				return
			}
			d.waitCheck("web", hasStatus("down"))
			d.waitCheck("web", func(c checkInfo) error {
				if c.Failures < 5 {
					return fmt.Errorf("failures %d", c.Failures)
				}
				return nil
			})
			assert.Equal(t, "active", d.serviceStatus("svc"))
			assert.Len(t, readLines(filepath.Join(dir, "started")), 1)
			d.stop()
		})
	}
}

// TestCheckBadTargets: checks against a closed port, a name that does not
// resolve, a server that never answers, a missing command and a command
// that prints megabytes all fail with a clear message, while the daemon
// stays responsive and its memory bounded.
func TestCheckBadTargets(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer silent.Close() // accepts (in the kernel) but never answers
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := closed.Addr().String()
	closed.Close()

	dir := newPebbleDir(t, map[string]string{"001-checks.yaml": `
checks:
    refused:
        override: replace
        period: 200ms
        threshold: 100
        http:
            url: http://` + closedAddr + `/
    nxdomain:
        override: replace
        period: 1s
        timeout: 900ms
        threshold: 100
        http:
            url: http://no-such-host.invalid/
    silent:
        override: replace
        period: 300ms
        timeout: 200ms
        threshold: 100
        http:
            url: http://` + silent.Addr().String() + `/
    missing:
        override: replace
        period: 200ms
        threshold: 100
        exec:
            command: no-such-command-for-pebble-check
    chatty:
        override: replace
        period: 1s
        timeout: 1s
        threshold: 100
        exec:
            command: /bin/sh -c 'head -c 5000000 /dev/zero | tr "\\0" "y"; echo; echo last line; exit 4'
`})
	d := startDaemon(t, dir, daemonOptions{})
	want := map[string]*regexp.Regexp{
		"refused":  regexp.MustCompile(`^Get "http://` + regexp.QuoteMeta(closedAddr) + `/": dial tcp ` + regexp.QuoteMeta(closedAddr) + `: connect: connection refused$`),
		"nxdomain": regexp.MustCompile(`^(Get "http://no-such-host.invalid/": dial tcp: lookup no-such-host.invalid.*|check timed out after 900ms)$`),
		"silent":   regexp.MustCompile(`^check timed out after 200ms$`),
		"missing":  regexp.MustCompile(`^exec: "no-such-command-for-pebble-check": executable file not found in \$PATH$`),
		"chatty":   regexp.MustCompile(`^exit status 4; (\(\.\.\.\)\n)?y+\nlast line$|^check timed out after 1s$`),
	}
	for name, re := range want {
		info := d.waitCheck(name, func(c checkInfo) error {
			if c.Failures < 2 {
				return fmt.Errorf("failures %d", c.Failures)
			}
			return nil
		})
		chg := d.change(info.ChangeID)
		require.NotEmpty(t, chg.Tasks[0].Log, name)
		last := chg.Tasks[0].Log[len(chg.Tasks[0].Log)-1]
		_, text, _ := strings.Cut(last, " ERROR ")
		t.Logf("%s: %q", name, text)
		assert.Regexp(t, re, text, name)
		assert.LessOrEqual(t, len(text), 600, "%s: details are bounded", name)

		// The daemon answers health at once whatever the checks do.
		start := time.Now()
		code, _ := d.health("")
		assert.Equal(t, 200, code, "below threshold: healthy")
		assert.Less(t, time.Since(start), 2*time.Second)
	}
	rss := procStatusField(d.daemonPID(), "VmRSS")
	kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rss), " kB"))
	require.NoError(t, err, "VmRSS %q", rss)
	assert.Less(t, kb, 200*1024, "daemon RSS")
	d.stop()
}

// TestChecksAndPlanChanges: checks start with the daemon even with --hold;
// an added layer starts new checks and restarts changed ones; replan starts
// stopped checks; a daemon restart finishes the old check changes and
// starts fresh ones (behaviour.md §6.5, §7.8).
func TestChecksAndPlanChanges(t *testing.T) {
	p := newProbe(t)
	dir := newPebbleDir(t, map[string]string{"001-checks.yaml": `
checks:
    web:
        override: replace
        period: 100ms
        http:
            url: ` + p.url() + `
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	first := d.waitCheck("web", hasStatus("up")).ChangeID

	layer := filepath.Join(dir, "more.yaml")
	writeFile(t, layer, `
checks:
    web:
        override: merge
        threshold: 7
    tcp:
        override: replace
        period: 100ms
        tcp:
            host: 127.0.0.1
            port: `+strings.Split(p.addr, ":")[1]+`
`)
	d.mustPebble("add", "more", layer)
	web := d.check("web")
	assert.NotEqual(t, first, web.ChangeID, "changed check restarted")
	assert.Equal(t, 7, web.Threshold)
	assert.Equal(t, "Done", d.waitChange(first).Status)
	tcp := d.waitCheck("tcp", func(c checkInfo) error {
		if c.Successes == nil || *c.Successes < 1 {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})
	assert.Equal(t, "up", tcp.Status)
	assert.Equal(t, `Perform TCP check "tcp"`, d.change(tcp.ChangeID).Summary)

	d.mustPebble("stop-checks", "tcp")
	assert.Equal(t, "inactive", d.check("tcp").Status)
	d.mustPebble("replan")
	assert.Equal(t, "up", d.check("tcp").Status, "replan starts inactive enabled checks")
	second := d.check("web").ChangeID
	d.stop()

	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	assert.Equal(t, "Done", d.change(second).Status)
	fresh := d.waitCheck("web", hasStatus("up"))
	assert.NotEqual(t, second, fresh.ChangeID)
	assert.Equal(t, 3, fresh.Threshold, "added layers do not survive a restart")
	d.stop()
}

// TestExecCheckServiceContext: an exec check with service-context runs with
// the service's environment and working directory, its own environment on
// top, and its output shows in the failure details (layers.md §4).
func TestExecCheckServiceContext(t *testing.T) {
	dir := newPebbleDir(t, nil)
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep 1000
        working-dir: ` + work + `
        environment:
            FROM_SERVICE: svc
            OVERRIDDEN: svc
checks:
    ctx:
        override: replace
        period: 1h
        exec:
            command: /bin/sh -c 'echo "$FROM_SERVICE $OVERRIDDEN $(pwd)"; exit 3'
            service-context: svc
            environment:
                OVERRIDDEN: check
`})
	d := startDaemon(t, dir, daemonOptions{})
	res := d.pebble("check", "ctx", "--refresh", "--format=json")
	require.Equal(t, 0, res.code, res.stderr)
	var out struct {
		Failures int    `json:"failures"`
		Error    string `json:"error"`
		Logs     string `json:"logs"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &out))
	assert.Equal(t, "exit status 3; svc check "+work, out.Error)
	assert.Equal(t, 1, out.Failures)
	assert.Contains(t, out.Logs, " ERROR exit status 3; svc check "+work+"\n")
	assert.Contains(t, d.stderr.String(), `Check "ctx" failure 1/3: exit status 3`+"\n")
	d.stop()
}

// TestCheckChangeNoticesNameTheCheck: the change-update notices of
// perform-check and recover-check changes carry "check-name" besides the
// kind in their last-data (api.md §13.1), through every status.
func TestCheckChangeNoticesNameTheCheck(t *testing.T) {
	p := newProbe(t)
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
checks:
    web:
        override: replace
        period: 100ms
        threshold: 1
        http:
            url: ` + p.url() + `
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	perform := d.waitCheck("web", hasStatus("up")).ChangeID
	p.stop()
	recover := d.waitCheck("web", recovering(perform)).ChangeID
	require.NotEqual(t, perform, recover)
	d.mustPebble("stop-checks", "web")
	d.waitChange(recover)

	byKey := map[string]notice{}
	for _, n := range d.notices(url.Values{"types": {"change-update"}, "keys": {perform + "," + recover}}) {
		byKey[n.Key] = n
	}
	require.Len(t, byKey, 2)
	assert.Equal(t, map[string]string{"kind": "perform-check", "check-name": "web"}, byKey[perform].LastData)
	assert.Equal(t, map[string]string{"kind": "recover-check", "check-name": "web"}, byKey[recover].LastData)
	// The perform change: created, then Error at the threshold. The recover
	// change: created, then Abort and Done when stopped. Each notice's data
	// is that of its last occurrence.
	assert.Equal(t, 2, byKey[perform].Occurrences)
	assert.Equal(t, 3, byKey[recover].Occurrences)
}
