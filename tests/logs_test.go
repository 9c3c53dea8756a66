package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logfwd/logtest"
	"github.com/pebble-project/pebble/internal/testutil"
)

// logEntry is one JSON line of GET /v1/logs (api.md §14).
type logEntry struct {
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Message string    `json:"message"`
}

// logsRaw returns the body of GET /v1/logs?<query> (not following).
func (d *daemon) logsRaw(query string) (int, http.Header, string) {
	d.t.Helper()
	resp, err := d.http.Get("http://localhost/v1/logs?" + query)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return resp.StatusCode, resp.Header, string(data)
}

// logs returns the entries of GET /v1/logs?<query>, checking the format.
func (d *daemon) logs(query string) []logEntry {
	d.t.Helper()
	status, header, body := d.logsRaw(query)
	require.Equal(d.t, 200, status, body)
	require.Equal(d.t, "application/x-ndjson", header.Get("Content-Type"))
	return parseLogLines(d.t, body)
}

func parseLogLines(t testing.TB, body string) []logEntry {
	t.Helper()
	var out []logEntry
	for _, line := range strings.SplitAfter(body, "\n") {
		if line == "" {
			continue
		}
		require.True(t, strings.HasSuffix(line, "\n"), "unterminated line %q", line)
		// Pebble's own client reads lines with a 5 KiB buffer.
		require.LessOrEqual(t, len(line), 5*1024, "line too long for Pebble's client")
		var e logEntry
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&e), "line %q", line)
		out = append(out, e)
	}
	return out
}

func logMessages(es []logEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Service + ": " + e.Message
	}
	return out
}

// TestLogsInterleave: two services take turns writing (each waits for the
// other's marker), and every way of reading the logs shows their lines
// merged in time order.
func TestLogsInterleave(t *testing.T) {
	dir := newPebbleDir(t, nil)
	// ping writes p1, waits for pong's o1, writes p2, ... Each line is
	// followed by a marker file the other side waits for, and a pause, so
	// consecutive lines are at least a few milliseconds apart.
	writeScript(t, dir, "turns.sh", `
me=$1; other=$2; first=$3
i=1
if [ "$first" = no ]; then
	while [ ! -e @DIR@/$other.1 ]; do sleep 0.005; done
fi
while [ $i -le 5 ]; do
	echo "$me$i <&>"
	sleep 0.01
	touch @DIR@/$me.$i
	if [ $i -lt 5 ] || [ "$first" = yes ]; then
		j=$i; [ "$first" = no ] && j=$((i+1))
		while [ ! -e @DIR@/$other.$j ]; do sleep 0.005; done
	fi
	i=$((i+1))
done
exec sleep 1000
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    ping:
        override: replace
        command: /bin/sh @DIR@/turns.sh p o yes
        startup: enabled
    pong:
        override: replace
        command: /bin/sh @DIR@/turns.sh o p no
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	testutil.WaitFor(t, 20*time.Second, func() error {
		if _, err := os.Stat(filepath.Join(dir, "o.5")); err != nil {
			return err
		}
		return nil
	})

	var want []string
	for i := 1; i <= 5; i++ {
		want = append(want, fmt.Sprintf("ping: p%d <&>", i), fmt.Sprintf("pong: o%d <&>", i))
	}
	all := d.logs("n=-1")
	assert.Equal(t, want, logMessages(all))
	for i := 1; i < len(all); i++ {
		assert.False(t, all[i].Time.Before(all[i-1].Time), "entries out of time order")
		assert.WithinDuration(t, time.Now(), all[i].Time, time.Minute)
		assert.Equal(t, all[i].Time, all[i].Time.Truncate(time.Millisecond), "log times have millisecond precision")
	}
	// No HTML escaping on the wire.
	_, _, body := d.logsRaw("n=1")
	assert.Contains(t, body, `"message":"o5 <&>"}`)
	assert.Equal(t, want[7:], logMessages(d.logs("n=3")))
	assert.Equal(t, want, logMessages(d.logs("")), "default is the latest 30")
	assert.Empty(t, d.logs("n=0"))
	assert.Equal(t, []string{"pong: o4 <&>", "pong: o5 <&>"}, logMessages(d.logs("services=pong&n=2")))
	assert.Equal(t, want, logMessages(d.logs("services=pong,ping&services=nope")))

	// The CLI, text and JSON.
	out := d.mustPebble("logs")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 10)
	for i, line := range lines {
		svc, msg, _ := strings.Cut(want[i], ": ")
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[`+svc+`\] `+msg+`$`, line)
	}
	out = d.mustPebble("logs", "--format=json", "-n", "2", "ping")
	assert.Equal(t, []string{"ping: p4 <&>", "ping: p5 <&>"}, logMessages(parseLogLines(t, out)))
	res := d.pebble("logs", "-n-3")
	assert.Equal(t, 1, res.code)
	assert.Equal(t, "error: expected n to be a non-negative integer or \"all\", not \"-3\"\n", res.stderr)

	// Errors, with the spec's texts.
	for query, msg := range map[string]string{
		"follow=yes": `follow parameter must be "true" or "false"`,
		"n=-2":       "n must be -1, 0, or a positive integer",
		"n=ten":      "n must be -1, 0, or a positive integer",
	} {
		status, env := d.request("GET", "/v1/logs?"+query, nil)
		assert.Equal(t, 400, status)
		assert.Equal(t, msg, apiErrorOf(env).Message)
	}
	d.stop()
}

// follower reads GET /v1/logs?follow=true on a connection of its own and
// timestamps each line as it arrives.
type follower struct {
	lines chan arrival
	body  io.Closer
}

type arrival struct {
	entry logEntry
	at    time.Time
}

func (d *daemon) follow(query string) *follower {
	d.t.Helper()
	req, err := http.NewRequestWithContext(d.t.Context(), "GET", "http://localhost/v1/logs?follow=true&"+query, nil)
	require.NoError(d.t, err)
	resp, err := d.http.Do(req)
	require.NoError(d.t, err)
	require.Equal(d.t, 200, resp.StatusCode)
	f := &follower{lines: make(chan arrival, 10000), body: resp.Body}
	go func() {
		defer close(f.lines)
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			at := time.Now()
			var e logEntry
			if json.Unmarshal(line, &e) == nil {
				f.lines <- arrival{e, at}
			}
		}
	}()
	d.t.Cleanup(func() { resp.Body.Close() })
	return f
}

func (f *follower) next(t testing.TB) arrival {
	t.Helper()
	select {
	case a, ok := <-f.lines:
		require.True(t, ok, "follow stream ended")
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("no line from the follow stream")
		return arrival{}
	}
}

// TestLogsFollow measures how soon a follower sees a line after the
// service writes it, through the API and through `pebble logs -f`, and
// checks that followers that hang up leave nothing behind in the daemon.
func TestLogsFollow(t *testing.T) {
	dir := newPebbleDir(t, nil)
	fifo := filepath.Join(dir, "in.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	// The service echoes each line the test writes into the FIFO.
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    echo:
        override: replace
        command: /bin/sh -c 'echo started; while read -r line; do echo "$line"; done < @DIR@/in.fifo; exec sleep 1000'
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	in, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer in.Close()

	f := d.follow("n=1")
	assert.Equal(t, "started", f.next(t).entry.Message, "backlog of 1 first")

	const rounds = 50
	var lat []time.Duration
	for i := range rounds {
		msg := fmt.Sprintf("line %d", i)
		sent := time.Now()
		_, err := fmt.Fprintln(in, msg)
		require.NoError(t, err)
		a := f.next(t)
		require.Equal(t, msg, a.entry.Message)
		require.Equal(t, "echo", a.entry.Service)
		lat = append(lat, a.at.Sub(sent))
	}
	slices.Sort(lat)
	p50, p99 := lat[rounds/2], lat[rounds*99/100]
	t.Logf("follow latency, write to FIFO until the follower has the line (API): p50 %v, p99 %v, max %v", p50, p99, lat[rounds-1])
	// The target is 100 ms; the bound is generous for a loaded CI machine.
	assert.Less(t, p50, 100*time.Millisecond)
	assert.Less(t, lat[rounds-1], 2*time.Second)

	// The CLI: pebble logs -f prints the backlog and then new lines, and
	// exits 0 on Ctrl-C.
	cmd := exec.Command(pebbleBin, "logs", "-f", "-n", "1", "echo")
	cmd.Env = append(cleanEnv(), "PEBBLE="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	cliLines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			cliLines <- sc.Text()
		}
		close(cliLines)
	}()
	nextCLI := func() (string, time.Time) {
		select {
		case l := <-cliLines:
			return l, time.Now()
		case <-time.After(20 * time.Second):
			t.Fatalf("no line from pebble logs -f; stderr %q", stderr.String())
			return "", time.Time{}
		}
	}
	first, _ := nextCLI()
	assert.Regexp(t, `\[echo\] line 49$`, first)
	var cliLat []time.Duration
	for i := range 10 {
		msg := fmt.Sprintf("cli %d", i)
		sent := time.Now()
		fmt.Fprintln(in, msg)
		line, at := nextCLI()
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[echo\] `+msg+`$`, line)
		cliLat = append(cliLat, at.Sub(sent))
	}
	slices.Sort(cliLat)
	t.Logf("follow latency through `pebble logs -f`: p50 %v, max %v", cliLat[5], cliLat[9])
	assert.Less(t, cliLat[5], 100*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait(), "pebble logs -f after Ctrl-C; stderr %q", stderr.String())

	// Followers that hang up: the daemon's descriptors return to their
	// baseline (a handler left blocked would keep its connection open).
	f.body.Close()
	pid := d.daemonPID()
	baseline := settledFDs(t, pid)
	var followers []*follower
	for range 20 {
		followers = append(followers, d.follow("n=0"))
	}
	fmt.Fprintln(in, "to all")
	for _, fl := range followers {
		assert.Equal(t, "to all", fl.next(t).entry.Message)
	}
	n, err := countFDs(pid)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, baseline+20, "the followers' connections")
	for _, fl := range followers {
		fl.body.Close()
	}
	testutil.WaitFor(t, 15*time.Second, func() error {
		n, err := countFDs(pid)
		if err != nil {
			return err
		}
		if n > baseline+2 {
			return fmt.Errorf("daemon has %d fds open, baseline %d", n, baseline)
		}
		return nil
	})

	// A follower still connected does not hold up the daemon's exit.
	d.follow("")
	start := time.Now()
	d.stop()
	t.Logf("stop with a follower connected took %v", time.Since(start))
}

// rsyslog is an rsyslogd run by the test in the foreground, receiving on a
// loopback port (TCP and UDP) and writing every message as a JSON line.
type rsyslog struct {
	addr string
	out  string
}

// startRsyslog runs rsyslogd with a config of its own, or skips the test
// when rsyslogd is not installed (scripts/install-test-deps.sh installs it).
func startRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("skipping: rsyslogd is not installed (run scripts/install-test-deps.sh as root, or apt-get install rsyslog)")
		}
	}
	dir := t.TempDir()
	// A free port for both TCP and UDP.
	var port int
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			u.Close()
			break
		}
	}
	r := &rsyslog{addr: fmt.Sprintf("127.0.0.1:%d", port), out: filepath.Join(dir, "out.jsonl")}
	conf := fmt.Sprintf(`
global(workDirectory=%q)
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="%d" ruleset="pebble")
input(type="imudp" address="127.0.0.1" port="%d" ruleset="pebble")
template(name="pebbleJSON" type="list") {
  constant(value="{")
  property(name="app-name" format="jsonf" outname="app")
  constant(value=",")
  property(name="hostname" format="jsonf" outname="host")
  constant(value=",")
  property(name="timereported" dateFormat="rfc3339" format="jsonf" outname="time")
  constant(value=",")
  property(name="pri" format="jsonf" outname="pri")
  constant(value=",")
  property(name="procid" format="jsonf" outname="procid")
  constant(value=",")
  property(name="msgid" format="jsonf" outname="msgid")
  constant(value=",")
  property(name="structured-data" format="jsonf" outname="sd")
  constant(value=",")
  property(name="msg" format="jsonf" outname="msg")
  constant(value="}\n")
}
ruleset(name="pebble") {
  action(type="omfile" file=%q template="pebbleJSON")
}
`, dir, port, port, r.out)
	confPath := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o644))
	cmd := exec.Command(bin, "-n", "-iNONE", "-f", confPath)
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", output.String())
		}
	})
	testutil.WaitFor(t, 20*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("rsyslogd exited: %s", output.String())
		default:
		}
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			return err
		}
		c.Close()
		return nil
	})
	return r
}

// rsyslogMessage is one message as rsyslogd parsed it.
type rsyslogMessage struct {
	App, Host, Time, Pri, ProcID, MsgID, SD, Msg string
}

func (r *rsyslog) messages(t testing.TB) []rsyslogMessage {
	t.Helper()
	data, err := os.ReadFile(r.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var out []rsyslogMessage
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			App    string `json:"app"`
			Host   string `json:"host"`
			Time   string `json:"time"`
			Pri    string `json:"pri"`
			ProcID string `json:"procid"`
			MsgID  string `json:"msgid"`
			SD     string `json:"sd"`
			Msg    string `json:"msg"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &m), "rsyslog line %q", line)
		out = append(out, rsyslogMessage{m.App, m.Host, m.Time, m.Pri, m.ProcID, m.MsgID, m.SD, m.Msg})
	}
	return out
}

// newReceivers starts the Loki and OTLP test receivers.
func newReceivers(t *testing.T) (*logtest.Loki, *logtest.OTLP) {
	t.Helper()
	loki, err := logtest.NewLoki()
	require.NoError(t, err)
	t.Cleanup(loki.Close)
	otlp, err := logtest.NewOTLP()
	require.NoError(t, err)
	t.Cleanup(otlp.Close)
	return loki, otlp
}

type waiter interface {
	WaitFor(ctx context.Context, f func([]logtest.Entry) error) error
	Problems() []string
}

// waitReceived waits until f accepts what r received, and requires that r
// saw nothing off the wire format.
func waitReceived(t *testing.T, r waiter, timeout time.Duration, f func([]logtest.Entry) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	require.NoError(t, r.WaitFor(ctx, f))
	require.Empty(t, r.Problems())
}

// byService returns the messages received per service, and the labels of
// each service (which must not vary).
func byService(t *testing.T, es []logtest.Entry) (map[string][]string, map[string]map[string]string) {
	t.Helper()
	msgs := map[string][]string{}
	labels := map[string]map[string]string{}
	for _, e := range es {
		msgs[e.Service] = append(msgs[e.Service], e.Message)
		if prev, ok := labels[e.Service]; ok {
			require.Equal(t, prev, e.Labels, "labels of %s changed", e.Service)
		}
		labels[e.Service] = e.Labels
	}
	return msgs, labels
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i+1)
	}
	return out
}

// TestLogForwarding forwards two services to Loki, OpenTelemetry and
// rsyslog (TCP and UDP) with selections and labels, and checks what each
// receiver got.
func TestLogForwarding(t *testing.T) {
	rs := startRsyslog(t)
	loki, otlp := newReceivers(t)
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{
		"001-base.yaml": `
services:
    web:
        override: replace
        command: /bin/sh -c 'for i in $(seq 1 20); do echo "web $i"; done; exec sleep 1000'
        startup: enabled
        environment: {DEPLOY: blue, ZONE: z1}
    worker:
        override: replace
        command: /bin/sh -c 'for i in $(seq 1 20); do echo "worker $i"; done; exec sleep 1000'
        startup: enabled
log-targets:
    loki:
        override: replace
        type: loki
        location: ` + loki.URL() + `
        services: [all]
        labels:
            deploy: $DEPLOY
            zone: ${ZONE}-x
    otel:
        override: replace
        type: opentelemetry
        location: ` + otlp.URL() + `
        services: [all, -worker]
        labels:
            deploy: $DEPLOY
    syslog-tcp:
        override: replace
        type: syslog
        location: tcp://` + rs.addr + `
        services: [web]
        labels:
            quote: 'say "hi"'
            slash: 'a\b'
            bracket: 'c]d'
            deploy: $DEPLOY
`,
		// A later layer adds the UDP target and narrows otel further by
		// merging: the lists are appended and read from the end.
		"002-more.yaml": `
log-targets:
    syslog-udp:
        override: replace
        type: syslog
        location: udp://` + rs.addr + `
        services: [worker]
    otel:
        override: merge
        services: [-all, web]
`,
	})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)

	waitReceived(t, loki, 30*time.Second, func(es []logtest.Entry) error {
		if len(es) < 40 {
			return fmt.Errorf("loki has %d entries", len(es))
		}
		return nil
	})
	msgs, labels := byService(t, loki.Entries())
	assert.Equal(t, map[string][]string{"web": numbered("web", 20), "worker": numbered("worker", 20)}, msgs)
	assert.Equal(t, map[string]map[string]string{
		"web":    {"deploy": "blue", "zone": "z1-x"},
		"worker": {"deploy": "", "zone": "-x"},
	}, labels)
	assert.True(t, strings.HasPrefix(loki.UserAgent(), "pebble/"), "User-Agent %q", loki.UserAgent())
	for _, e := range loki.Entries() {
		assert.WithinDuration(t, time.Now(), e.Time, time.Minute)
	}

	waitReceived(t, otlp, 30*time.Second, func(es []logtest.Entry) error {
		if len(es) < 20 {
			return fmt.Errorf("otlp has %d entries", len(es))
		}
		return nil
	})
	msgs, labels = byService(t, otlp.Entries())
	assert.Equal(t, map[string][]string{"web": numbered("web", 20)}, msgs)
	assert.Equal(t, map[string]string{"deploy": "blue"}, labels["web"])

	host, _ := os.Hostname()
	var got []rsyslogMessage
	testutil.WaitFor(t, 30*time.Second, func() error {
		got = rs.messages(t)
		if len(got) < 40 {
			return fmt.Errorf("rsyslog has %d messages", len(got))
		}
		return nil
	})
	syslogMsgs := map[string][]string{}
	for _, m := range got {
		syslogMsgs[m.App] = append(syslogMsgs[m.App], m.Msg)
		assert.Equal(t, "13", m.Pri)
		assert.Equal(t, host, m.Host)
		assert.Equal(t, "-", m.ProcID)
		assert.Equal(t, "-", m.MsgID)
		tm, err := time.Parse(time.RFC3339Nano, m.Time)
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now(), tm, time.Minute)
		sd, err := logtest.ParseStructuredData(m.SD)
		require.NoError(t, err)
		if m.App == "web" {
			assert.Equal(t, map[string]map[string]string{"pebble@28978": {
				"quote": `say "hi"`, "slash": `a\b`, "bracket": "c]d", "deploy": "blue"}}, sd, "raw %q", m.SD)
		} else {
			assert.Equal(t, map[string]map[string]string{"pebble@28978": {}}, sd, "raw %q", m.SD)
		}
	}
	// UDP may lose datagrams in principle; on loopback it does not.
	assert.Equal(t, map[string][]string{"web": numbered("web", 20), "worker": numbered("worker", 20)}, syslogMsgs)

	// The counters of GET /v1/log-targets.
	var targets []struct {
		Name     string   `json:"name"`
		Type     string   `json:"type"`
		Services []string `json:"services"`
		Sent     int      `json:"sent"`
		Dropped  int      `json:"dropped"`
		Lost     int      `json:"lost-bytes"`
		Failures int      `json:"failures"`
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		d.sync("GET", "/v1/log-targets", nil, &targets)
		for _, tg := range targets {
			if tg.Sent == 0 {
				return fmt.Errorf("target %s has sent nothing yet", tg.Name)
			}
		}
		return nil
	})
	sort.Slice(targets, func(i, j int) bool { return targets[i].Name < targets[j].Name })
	require.Len(t, targets, 4)
	assert.Equal(t, []string{"loki", "otel", "syslog-tcp", "syslog-udp"}, []string{targets[0].Name, targets[1].Name, targets[2].Name, targets[3].Name})
	assert.Equal(t, []string{"web", "worker"}, targets[0].Services)
	assert.Equal(t, 40, targets[0].Sent)
	assert.Equal(t, []string{"web"}, targets[1].Services)
	assert.Equal(t, []string{"worker"}, targets[3].Services)
	for _, tg := range targets {
		assert.Zero(t, tg.Dropped+tg.Lost+tg.Failures, "target %s", tg.Name)
	}
	// The same counters in /v1/metrics.
	resp, err := d.http.Get("http://localhost/v1/metrics")
	require.NoError(t, err)
	metricsText, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Contains(t, string(metricsText), "# TYPE pebble_log_target_sent_total counter\n"+
		`pebble_log_target_sent_total{target="loki"} 40`+"\n"+
		`pebble_log_target_sent_total{target="otel"} 20`+"\n")
	assert.Contains(t, string(metricsText), `pebble_log_target_lost_bytes_total{target="syslog-udp"} 0`+"\n")
	d.stop()
}

// TestLogForwardingOutage takes the Loki receiver down while a service
// writes a numbered line every 20 ms, then brings it back: every line
// arrives, in order. The failures are logged and counted.
func TestLogForwardingOutage(t *testing.T) {
	loki, _ := newReceivers(t)
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    counter:
        override: replace
        command: /bin/sh -c 'i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.02; done'
        startup: enabled
log-targets:
    loki:
        override: replace
        type: loki
        location: ` + loki.URL() + `
        services: [counter]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	waitReceived(t, loki, 30*time.Second, func(es []logtest.Entry) error {
		if len(es) < 10 {
			return fmt.Errorf("%d entries", len(es))
		}
		return nil
	})

	loki.Down()
	lastLine := func() int {
		es := d.logs("n=1")
		require.Len(t, es, 1)
		n, err := strconv.Atoi(strings.TrimPrefix(es[0].Message, "line "))
		require.NoError(t, err)
		return n
	}
	downAt := lastLine()
	// Down long enough for several failed attempts, well within what the
	// 100 KiB buffer holds (about 2 KiB of output a second).
	testutil.WaitFor(t, 30*time.Second, func() error {
		if !strings.Contains(d.stderr.String(), `Cannot flush logs to target "loki": `) {
			return errors.New("no failure logged yet")
		}
		if n := lastLine(); n < downAt+100 {
			return fmt.Errorf("service at line %d", n)
		}
		return nil
	})
	require.NoError(t, loki.Up())
	upAt := lastLine()
	t.Logf("receiver down from line %d to line %d", downAt, upAt)

	var dups int
	waitReceived(t, loki, 60*time.Second, func(es []logtest.Entry) error {
		// Delivery is at least once: a batch whose answer was lost in the
		// outage is sent again. Nothing may be missing or out of order.
		seen := 0
		dups = 0
		for _, e := range es {
			n, err := strconv.Atoi(strings.TrimPrefix(e.Message, "line "))
			if err != nil {
				return err
			}
			switch {
			case n == seen+1:
				seen = n
			case n <= seen:
				dups++
			default:
				return fmt.Errorf("line %d follows line %d: lines lost", n, seen)
			}
		}
		if seen < upAt+20 {
			return fmt.Errorf("received up to line %d, want %d", seen, upAt+20)
		}
		return nil
	})
	t.Logf("%d entries received twice", dups)
	assert.LessOrEqual(t, dups, 100, "more than one batch sent twice")

	var targets []struct {
		Failures  int    `json:"failures"`
		Dropped   int    `json:"dropped"`
		LostBytes int    `json:"lost-bytes"`
		LastError string `json:"last-error"`
	}
	d.sync("GET", "/v1/log-targets", nil, &targets)
	require.Len(t, targets, 1)
	assert.Positive(t, targets[0].Failures)
	assert.Zero(t, targets[0].Dropped)
	assert.Zero(t, targets[0].LostBytes)
	assert.Contains(t, targets[0].LastError, "connection refused")
	d.stop()
}

// TestLogForwardingFinalFlush: what a service writes as it is stopped
// reaches the receiver during the daemon's shutdown.
func TestLogForwardingFinalFlush(t *testing.T) {
	loki, _ := newReceivers(t)
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    polite:
        override: replace
        command: /bin/sh -c 'trap "echo goodbye; exit 0" TERM; echo hello; while :; do sleep 0.05; done'
        startup: enabled
log-targets:
    loki:
        override: replace
        type: loki
        location: ` + loki.URL() + `
        services: [all]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	waitReceived(t, loki, 30*time.Second, func(es []logtest.Entry) error {
		if len(es) < 1 {
			return errors.New("nothing yet")
		}
		return nil
	})
	d.stop()
	msgs, _ := byService(t, loki.Entries())
	// The shell may also report its killed sleep ("Terminated").
	require.NotEmpty(t, msgs["polite"])
	assert.Equal(t, "hello", msgs["polite"][0])
	assert.Equal(t, "goodbye", msgs["polite"][len(msgs["polite"])-1])
}

// TestLogForwardingBadReceivers floods output at two targets, one that
// answers 500 and one that never answers: services and the API go on, the
// daemon's memory stays bounded, the failures are visible, and the daemon
// still stops promptly.
func TestLogForwardingBadReceivers(t *testing.T) {
	failing, hanging := newReceivers(t)
	failing.Set(logtest.Fail, 500)
	hanging.Set(logtest.Hang, 0)
	dir := newPebbleDir(t, nil)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    flood:
        override: replace
        command: /bin/sh -c 'exec yes "a line of output that goes nowhere"'
        startup: enabled
log-targets:
    failing:
        override: replace
        type: loki
        location: ` + failing.URL() + `
        services: [all]
    hanging:
        override: replace
        type: opentelemetry
        location: ` + hanging.URL() + `
        services: [all]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pid := d.daemonPID()
	deadline := time.Now().Add(5 * time.Second)
	var worst time.Duration
	for time.Now().Before(deadline) {
		start := time.Now()
		assert.Equal(t, "active", d.serviceStatus("flood"))
		worst = max(worst, time.Since(start))
	}
	t.Logf("slowest GET /v1/services during the flood: %v", worst)
	assert.Less(t, worst, 2*time.Second)
	rss := procStatusField(pid, "VmHWM")
	t.Logf("daemon peak RSS after 5 s of flood: %s", rss)
	kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rss), " kB"))
	require.NoError(t, err)
	// A -race build is several times larger than a plain one; this bound
	// only catches output piling up in memory.
	assert.Less(t, kb, 400*1024, "peak RSS")

	var targets []struct {
		Name      string `json:"name"`
		Failures  int    `json:"failures"`
		Pending   int    `json:"pending"`
		LostBytes int    `json:"lost-bytes"`
		LastError string `json:"last-error"`
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		d.sync("GET", "/v1/log-targets", nil, &targets)
		for _, tg := range targets {
			if tg.Failures == 0 || tg.LostBytes == 0 {
				return fmt.Errorf("target %s: %+v", tg.Name, tg)
			}
		}
		return nil
	})
	sort.Slice(targets, func(i, j int) bool { return targets[i].Name < targets[j].Name })
	assert.Contains(t, targets[0].LastError, "server returned HTTP 500 Internal Server Error")
	assert.Contains(t, targets[1].LastError, "context deadline exceeded")
	for _, tg := range targets {
		assert.LessOrEqual(t, tg.Pending, 100, "target %s", tg.Name)
	}
	assert.Contains(t, d.stderr.String(), `Cannot flush logs to target "failing": server returned HTTP 500 Internal Server Error`)

	start := time.Now()
	d.stop()
	t.Logf("stop with a hanging receiver took %v", time.Since(start))
	// Stopping the flood is quick; then at most 2 s of final flush and 1 s
	// for API requests.
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestLogsBadOutput: binary output, invalid UTF-8 and a 1 MiB line
// without a newline are read back and forwarded as valid JSON.
func TestLogsBadOutput(t *testing.T) {
	loki, _ := newReceivers(t)
	dir := newPebbleDir(t, nil)
	// The 1 MiB line comes first: it is longer than the buffer, so only
	// what follows it can still be read back.
	writeScript(t, dir, "bad.sh", `
head -c 1048576 /dev/zero | tr '\000' x
echo
head -c 20000 /dev/urandom
echo
printf 'invalid \377\376 utf8 \342\202\n'
echo end
exec sleep 1000
`)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    bad:
        override: replace
        command: /bin/sh @DIR@/bad.sh
        startup: enabled
log-targets:
    loki:
        override: replace
        type: loki
        location: ` + loki.URL() + `
        services: [all]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	testutil.WaitFor(t, 20*time.Second, func() error {
		es := d.logs("n=1")
		if len(es) == 1 && es[0].Message == "end" {
			return nil
		}
		return errors.New("no end yet")
	})
	all := d.logs("n=-1") // parseLogLines checks each line's JSON and length
	require.NotEmpty(t, all)
	for _, e := range all {
		assert.Equal(t, "bad", e.Service)
		assert.True(t, utf8.ValidString(e.Message))
		assert.LessOrEqual(t, len(e.Message), 4096*3)
	}
	require.GreaterOrEqual(t, len(all), 2)
	assert.Equal(t, "end", all[len(all)-1].Message)
	invalid := "invalid \ufffd\ufffd utf8 \ufffd\ufffd"
	assert.Equal(t, invalid, all[len(all)-2].Message)
	res := d.pebble("logs", "-n", "all")
	assert.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "[bad] "+invalid+"\n")

	var received []logtest.Entry
	waitReceived(t, loki, 30*time.Second, func(es []logtest.Entry) error {
		received = es
		if len(es) == 0 || es[len(es)-1].Message != "end" {
			return errors.New("no end yet")
		}
		return nil
	})
	assert.Equal(t, invalid, received[len(received)-2].Message)
	xs := 0 // bytes of the 1 MiB line received
	for _, e := range received {
		assert.LessOrEqual(t, len(e.Message), 4096*3)
		// The line comes in lines of 64 KiB, continuations marked.
		if msg := strings.TrimPrefix(e.Message, "(... continued ...) "); strings.Trim(msg, "x") == "" {
			xs += len(msg)
		}
	}
	var targets []struct {
		Dropped   int `json:"dropped"`
		LostBytes int `json:"lost-bytes"`
	}
	d.sync("GET", "/v1/log-targets", nil, &targets)
	assert.Zero(t, targets[0].Dropped, "the receiver refused something")
	// The buffer is 100 KiB and the writer never waits for the forwarder:
	// every byte of the 1 MiB line was either sent or counted as lost.
	t.Logf("%d entries received, %d bytes of the 1 MiB line among them; %d bytes counted lost", len(received), xs, targets[0].LostBytes)
	assert.GreaterOrEqual(t, xs+targets[0].LostBytes, 1<<20)
	d.stop()
}

// TestLogTargetBadLocation: a location that does not parse is a plan error,
// at start and when adding a layer.
func TestLogTargetBadLocation(t *testing.T) {
	bad := `
log-targets:
    tgt:
        override: replace
        type: loki
        location: "http://[::1"
`
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": bad})
	d := startDaemon(t, dir, daemonOptions{noWait: true})
	assert.Equal(t, 1, d.waitExit(exitTimeout))
	assert.Contains(t, d.stderr.String(), `log target "tgt" has invalid location "http://[::1": missing ']' in host`)

	dir = newPebbleDir(t, nil)
	d = startDaemon(t, dir, daemonOptions{})
	writeFile(t, filepath.Join(dir, "bad.yaml"), strings.Replace(bad, `"http://[::1"`, "syslog.example:514", 1))
	res := d.pebble("add", "x", filepath.Join(dir, "bad.yaml"))
	assert.Equal(t, 1, res.code)
	assert.Equal(t, `error: log target "tgt" has invalid location "syslog.example:514": scheme must be "http" or "https"`,
		strings.Join(strings.Fields(res.stderr), " "))
	d.stop()
}

// TestLogForwardingPlanChanges: layers added at run time change which
// services a target forwards and with which labels, from the next line on.
func TestLogForwardingPlanChanges(t *testing.T) {
	loki, _ := newReceivers(t)
	dir := newPebbleDir(t, nil)
	for _, name := range []string{"talk", "other"} {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, name+".fifo"), 0o600))
	}
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    talk:
        override: replace
        command: /bin/sh -c 'while read -r line; do echo "$line"; done < @DIR@/talk.fifo; exec sleep 1000'
        startup: enabled
        environment: {STAGE: two}
    other:
        override: replace
        command: /bin/sh -c 'while read -r line; do echo "$line"; done < @DIR@/other.fifo; exec sleep 1000'
        startup: enabled
log-targets:
    loki:
        override: replace
        type: loki
        location: ` + loki.URL() + `
        services: [talk]
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	fifos := map[string]*os.File{}
	for _, name := range []string{"talk", "other"} {
		f, err := os.OpenFile(filepath.Join(dir, name+".fifo"), os.O_WRONLY, 0)
		require.NoError(t, err)
		defer f.Close()
		fifos[name] = f
	}
	say := func(service, line string) {
		_, err := fmt.Fprintln(fifos[service], line)
		require.NoError(t, err)
		// Wait until the service wrote it, so the order is known.
		testutil.WaitFor(t, 10*time.Second, func() error {
			for _, e := range d.logs("services=" + service + "&n=1") {
				if e.Message == line {
					return nil
				}
			}
			return fmt.Errorf("%s has not written %q yet", service, line)
		})
	}
	received := func(n int) []logtest.Entry {
		var es []logtest.Entry
		waitReceived(t, loki, 30*time.Second, func(got []logtest.Entry) error {
			es = got
			if len(got) < n {
				return fmt.Errorf("%d entries, want %d", len(got), n)
			}
			return nil
		})
		return es
	}
	type seen struct{ service, msg, stage string }
	summary := func(es []logtest.Entry) []seen {
		var out []seen
		for _, e := range es {
			out = append(out, seen{e.Service, e.Message, e.Labels["stage"]})
		}
		return out
	}

	say("other", "one")
	say("talk", "one")
	assert.Equal(t, []seen{{"talk", "one", ""}}, summary(received(1)))

	// Merge: other is added, and a label appears.
	layer := filepath.Join(dir, "more.yaml")
	writeFile(t, layer, "log-targets:\n    loki:\n        override: merge\n        services: [other]\n        labels: {stage: $STAGE}\n")
	d.mustPebble("add", "more", layer)
	say("talk", "two")
	say("other", "two")
	// One push holds a stream per service, sorted by service.
	assert.ElementsMatch(t, []seen{{"talk", "one", ""}, {"talk", "two", "two"}, {"other", "two", ""}}, summary(received(3)))

	// Then talk is taken out: what it writes next is not forwarded, and
	// other's later line shows the target has moved on.
	writeFile(t, layer, "log-targets:\n    loki:\n        override: merge\n        services: [-talk]\n")
	d.mustPebble("add", "less", layer)
	say("talk", "three")
	say("other", "three")
	es := received(4)
	assert.ElementsMatch(t, []seen{{"talk", "one", ""}, {"talk", "two", "two"}, {"other", "two", ""}, {"other", "three", ""}}, summary(es))
	d.stop()
}
