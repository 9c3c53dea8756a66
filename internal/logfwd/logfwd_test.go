package logfwd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/logfwd/logtest"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/metrics"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/testutil"
)

// logRecorder collects the manager's log lines.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func mustPlan(t *testing.T, layers ...string) *plan.Plan {
	t.Helper()
	var ls []*plan.Layer
	for i, y := range layers {
		l, err := plan.ParseLayer(i+1, fmt.Sprintf("l%d", i+1), []byte(y))
		require.NoError(t, err)
		ls = append(ls, l)
	}
	p, err := plan.NewPlan(ls)
	require.NoError(t, err)
	return p
}

const twoServices = `
services:
    a:
        override: replace
        command: a
        environment: {ENV: prod, REGION: eu}
    b:
        override: replace
        command: b
        environment: {ENV: dev}
`

func targetYAML(name, typ, location, services, labels string) string {
	return fmt.Sprintf("log-targets:\n    %s:\n        override: merge\n        type: %s\n        location: %s\n        services: %s\n        labels: %s\n",
		name, typ, location, services, labels)
}

type fixture struct {
	t    *testing.T
	m    *Manager
	log  *logRecorder
	bufs map[string]*logs.Buffer
	ws   map[string]*logs.Writer
}

func newFixture(t *testing.T, opts Options) *fixture {
	f := &fixture{t: t, log: &logRecorder{}, bufs: map[string]*logs.Buffer{}, ws: map[string]*logs.Writer{}}
	if opts.FlushDelay == 0 {
		opts.FlushDelay = 50 * time.Millisecond
	}
	if opts.BackoffMin == 0 {
		opts.BackoffMin, opts.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	}
	opts.Logf = f.log.logf
	opts.UserAgent = "pebble/test"
	opts.Hostname = "testhost"
	f.m = New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f.m.Close(ctx)
	})
	return f
}

// start simulates a service run starting (servstate's Starting hook).
func (f *fixture) start(service string, size int) {
	buf := f.bufs[service]
	if buf == nil {
		buf = logs.NewBuffer(size)
		f.bufs[service] = buf
		f.ws[service] = logs.NewWriter(service, buf, nil)
	}
	f.m.ServiceStarting(service, buf)
}

func (f *fixture) write(service, format string, args ...any) {
	fmt.Fprintf(f.ws[service], format, args...)
}

type receiver interface {
	WaitFor(ctx context.Context, f func([]logtest.Entry) error) error
	Entries() []logtest.Entry
	Problems() []string
}

func waitEntries(t *testing.T, r receiver, n int) []logtest.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := r.WaitFor(ctx, func(es []logtest.Entry) error {
		if len(es) < n {
			return fmt.Errorf("%d entries, want %d", len(es), n)
		}
		return nil
	})
	require.NoError(t, err)
	require.Empty(t, r.Problems())
	return r.Entries()
}

func msgs(es []logtest.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Service + ":" + e.Message
	}
	return out
}

func TestLoki(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[all, -b]", `{env: "$ENV-${REGION}", none: "x$NOPE", static: "<&>"}`)))
	before := time.Now().Truncate(time.Millisecond)
	f.start("a", 0)
	f.start("b", 0)
	for i := range 250 {
		f.write("a", "line %d <&> \"q\"\n", i)
		f.write("b", "b line %d\n", i)
	}
	es := waitEntries(t, rx, 250)
	require.Len(t, es, 250)
	for i, e := range es {
		assert.Equal(t, "a", e.Service)
		assert.Equal(t, fmt.Sprintf("line %d <&> \"q\"", i), e.Message)
		assert.Equal(t, map[string]string{"env": "prod-eu", "none": "x", "static": "<&>"}, e.Labels)
		assert.False(t, e.Time.Before(before), "entry time %v before %v", e.Time, before)
		assert.Zero(t, e.Time.Nanosecond()%int(time.Millisecond), "entry time has sub-millisecond digits")
	}
	assert.GreaterOrEqual(t, rx.Requests(), 3, "250 entries in batches of at most 100")
	assert.Equal(t, "pebble/test", rx.UserAgent())
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Sent != 250 {
			return fmt.Errorf("sent %d", st.Sent)
		}
		return nil
	})
	st := f.m.Status()
	require.Len(t, st, 1)
	assert.Equal(t, Status{Name: "lk", Type: "loki", Location: rx.URL(), Services: []string{"a"}, Sent: 250}, st[0])
}

func TestOpenTelemetry(t *testing.T) {
	rx, err := logtest.NewOTLP()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("ot", "opentelemetry", rx.URL(), "[a, b]", `{env: $ENV}`)))
	f.start("b", 0)
	f.start("a", 0)
	f.write("a", "from a\n")
	f.write("b", "from b\n")
	f.write("a", "invalid \xff utf8\n")
	es := waitEntries(t, rx, 3)
	require.Len(t, es, 3)
	got := map[string][]string{}
	for _, e := range es {
		got[e.Service] = append(got[e.Service], e.Message)
		if e.Service == "a" {
			assert.Equal(t, map[string]string{"env": "prod"}, e.Labels)
		} else {
			assert.Equal(t, map[string]string{"env": "dev"}, e.Labels)
		}
	}
	assert.Equal(t, map[string][]string{"a": {"from a", "invalid \ufffd utf8"}, "b": {"from b"}}, got)
}

func TestSyslog(t *testing.T) {
	rx, err := logtest.NewSyslog()
	require.NoError(t, err)
	defer rx.Close()
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.m.SetPlan(mustPlan(t, twoServices, targetYAML("sl", "syslog", network+"://"+rx.Addr(), "[a]",
				`{q: 'say "hi"', b: 'back\slash', c: 'close]bracket', e: $ENV}`)))
			f.start("a", 0)
			n := len(rx.Entries())
			f.write("a", "hello %s\n", network)
			f.write("a", "%s\n", strings.Repeat("x", 5000)) // two entries; UDP cuts the datagram
			es := waitEntries(t, rx, n+3)[n:]
			require.Len(t, es, 3)
			want := map[string]string{"q": `say "hi"`, "b": `back\slash`, "c": "close]bracket", "e": "prod"}
			for _, e := range es {
				assert.Equal(t, "a", e.Service)
				assert.Equal(t, want, e.Labels)
			}
			assert.Equal(t, "hello "+network, es[0].Message)
			if network == "tcp" {
				assert.Equal(t, strings.Repeat("x", logs.MaxEntrySize), es[1].Message)
			} else {
				assert.Equal(t, strings.Repeat("x", len(es[1].Message)), es[1].Message)
				assert.Less(t, len(es[1].Message), logs.MaxEntrySize)
			}
			raw := rx.Raw()
			assert.Regexp(t, regexp.MustCompile(`^<13>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z testhost a - - \[pebble@28978 b="back\\\\slash" c="close\\]bracket" e="prod" q="say \\"hi\\""\] hello `+network+`$`), raw[n])
		})
	}
}

// TestSyslogReconnects checks that a TCP receiver that restarts loses
// nothing: the closed connection is noticed before the next write.
func TestSyslogReconnects(t *testing.T) {
	rx, err := logtest.NewSyslog()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("sl", "syslog", "tcp://"+rx.Addr(), "[a]", "{}")))
	f.start("a", 0)
	f.write("a", "one\n")
	waitEntries(t, rx, 1)
	rx.DropConnections()
	f.write("a", "two\n")
	f.write("a", "three\n")
	es := waitEntries(t, rx, 3)
	assert.Equal(t, []string{"a:one", "a:two", "a:three"}, msgs(es))
}

// TestOutageLosesNothing takes the receiver down while a service writes,
// then brings it back: every line arrives once, in order.
func TestOutageLosesNothing(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[a]", "{}")))
	f.start("a", 0)
	f.write("a", "line 0\n")
	waitEntries(t, rx, 1)
	// Once the answer is in: a receiver that goes down between recording
	// a batch and answering makes the batch be sent twice (at least once
	// delivery), which is not what this test is about.
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Sent != 1 {
			return fmt.Errorf("sent %d", st.Sent)
		}
		return nil
	})
	rx.Down()
	for i := 1; i < 500; i++ {
		f.write("a", "line %d\n", i)
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Failures < 2 {
			return fmt.Errorf("%d failures", st.Failures)
		}
		return nil
	})
	require.NoError(t, rx.Up())
	for i := 500; i < 600; i++ {
		f.write("a", "line %d\n", i)
	}
	es := waitEntries(t, rx, 600)
	want := make([]string, 600)
	for i := range want {
		want[i] = fmt.Sprintf("a:line %d", i)
	}
	assert.Equal(t, want, msgs(es))
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Sent != 600 {
			return fmt.Errorf("sent %d", st.Sent)
		}
		return nil
	})
	st := f.m.Status()[0]
	assert.Zero(t, st.Dropped)
	assert.Zero(t, st.LostBytes)
	assert.EqualValues(t, 600, st.Sent)
	assert.NotEmpty(t, st.LastError)
	found := false
	for _, l := range f.log.all() {
		if strings.HasPrefix(l, `Cannot flush logs to target "lk": `) {
			found = true
		}
	}
	assert.True(t, found, "no failure logged: %q", f.log.all())
}

func TestRetryOn5xxAnd429(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			rx, err := logtest.NewOTLP()
			require.NoError(t, err)
			defer rx.Close()
			rx.Set(logtest.Fail, status)
			f := newFixture(t, Options{})
			f.m.SetPlan(mustPlan(t, twoServices, targetYAML("ot", "opentelemetry", rx.URL(), "[a]", "{}")))
			f.start("a", 0)
			f.write("a", "kept\n")
			testutil.WaitFor(t, 20*time.Second, func() error {
				if n := rx.Requests(); n < 3 {
					return fmt.Errorf("%d requests", n)
				}
				return nil
			})
			rx.Set(logtest.Accept, 0)
			es := waitEntries(t, rx, 1)
			assert.Equal(t, []string{"a:kept"}, msgs(es))
			st := f.m.Status()[0]
			assert.GreaterOrEqual(t, st.Failures, uint64(2))
			assert.Contains(t, st.LastError, fmt.Sprintf("server returned HTTP %d", status))
			assert.Zero(t, st.Dropped)
		})
	}
}

func TestOther4xxDrops(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	rx.Set(logtest.Fail, http.StatusBadRequest)
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[a]", "{}")))
	f.start("a", 0)
	for i := range 3 {
		f.write("a", "dropped %d\n", i)
	}
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Dropped != 3 {
			return fmt.Errorf("dropped %d", st.Dropped)
		}
		return nil
	})
	rx.Set(logtest.Accept, 0)
	f.write("a", "sent\n")
	es := waitEntries(t, rx, 1)
	assert.Equal(t, []string{"a:sent"}, msgs(es))
	assert.Contains(t, f.log.all(), `Cannot flush logs to target "lk": server returned HTTP 400 Bad Request: failing on purpose with 400 (dropped 3 entries)`)
}

// TestPartialSuccessDrops: records an OTLP receiver rejects in a partial
// success are counted dropped, not sent, and not sent again; the rejection
// is logged and recorded as a failure.
func TestPartialSuccessDrops(t *testing.T) {
	rx, err := logtest.NewOTLP()
	require.NoError(t, err)
	defer rx.Close()
	rx.RejectSome(2, "too old")
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("ot", "opentelemetry", rx.URL(), "[a]", "{}")))
	f.start("a", 0)
	f.write("a", "one\ntwo\nthree\n")
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; st.Sent+st.Dropped != 3 {
			return fmt.Errorf("sent %d, dropped %d", st.Sent, st.Dropped)
		}
		return nil
	})
	st := f.m.Status()[0]
	assert.Equal(t, uint64(1), st.Sent)
	assert.Equal(t, uint64(2), st.Dropped)
	assert.Equal(t, uint64(1), st.Failures)
	assert.Equal(t, "server rejected 2 entries: too old", st.LastError)
	assert.Contains(t, f.log.all(), `Cannot flush logs to target "ot": server rejected 2 entries: too old`)
	assert.Equal(t, 1, rx.Requests(), "rejected entries were sent again")
}

func TestOTLPRejectedCount(t *testing.T) {
	for answer, want := range map[string]int{
		``:                      0,
		`{}`:                    0,
		`{"partialSuccess":{}}`: 0,
		`{"partialSuccess":{"rejectedLogRecords":"0"}}`:        0,
		`{"partialSuccess":{"rejectedLogRecords":3}}`:          3,
		`{"partialSuccess":{"rejectedLogRecords":"4"}}`:        4,
		`{"partialSuccess":{"errorMessage":"only a warning"}}`: 0,
		`not json`: 0,
	} {
		err := otelRejected([]byte(answer))
		var rejected *rejectedError
		if want == 0 {
			assert.NoError(t, err, answer)
			continue
		}
		if assert.ErrorAs(t, err, &rejected, answer) {
			assert.Equal(t, want, rejected.count, answer)
		}
	}
}

// TestHangingReceiverBlocksNothing fills the buffers while the receiver
// hangs: writers never wait, memory stays bounded, the loss is counted,
// and Close returns within its deadline.
func TestHangingReceiverBlocksNothing(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	rx.Set(logtest.Hang, 0)
	f := newFixture(t, Options{Timeout: 200 * time.Millisecond})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[all]", "{}")))
	f.start("a", 4096)
	start := time.Now()
	for i := range 20000 {
		f.write("a", "line %d %s\n", i, strings.Repeat("y", 100))
	}
	assert.Less(t, time.Since(start), 10*time.Second)
	testutil.WaitFor(t, 20*time.Second, func() error {
		st := f.m.Status()[0]
		if st.LostBytes == 0 || st.Failures == 0 {
			return fmt.Errorf("status %+v", st)
		}
		if st.Pending > DefaultMaxBatch {
			t.Fatalf("%d entries pending", st.Pending)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	closeStart := time.Now()
	f.m.Close(ctx)
	assert.Less(t, time.Since(closeStart), 3*time.Second)
	st := f.m.Status()[0]
	assert.NotZero(t, st.Dropped, "unsent entries at close are counted")
}

func TestFinalFlushOnClose(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{FlushDelay: time.Hour})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[all]", "{}")))
	f.start("a", 0)
	f.start("b", 0)
	for i := range 150 {
		f.write("a", "a%d\n", i)
	}
	f.write("b", "last\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f.m.Close(ctx)
	assert.Len(t, rx.Entries(), 151)
	assert.Empty(t, rx.Problems())
}

func TestPlanChanges(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	rx2, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx2.Close()
	f := newFixture(t, Options{})
	base := targetYAML("lk", "loki", rx.URL(), "[a]", "{v: one}")
	f.m.SetPlan(mustPlan(t, twoServices, base))
	f.start("a", 0)
	f.start("b", 0)
	f.write("a", "a1\n")
	f.write("b", "b1\n") // not selected yet
	waitEntries(t, rx, 1)

	// Merge appends b and changes the label.
	f.m.SetPlan(mustPlan(t, twoServices, base, targetYAML("lk", "loki", "", "[b]", "{v: two}")))
	f.write("a", "a2\n")
	f.write("b", "b2\n")
	es := waitEntries(t, rx, 3)
	assert.ElementsMatch(t, []string{"a:a1", "a:a2", "b:b2"}, msgs(es))
	for _, e := range es[1:] {
		assert.Equal(t, map[string]string{"v": "two"}, e.Labels)
	}

	// -all removes everything listed before; a new location takes over.
	f.m.SetPlan(mustPlan(t, twoServices, base, targetYAML("lk", "loki", rx2.URL(), "[-all, b]", "{}")))
	f.write("a", "a3\n")
	f.write("b", "b3\n")
	es2 := waitEntries(t, rx2, 1)
	assert.Equal(t, []string{"b:b3"}, msgs(es2))
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status()[0]; len(st.Services) != 1 || st.Services[0] != "b" {
			return fmt.Errorf("services %v", st.Services)
		}
		return nil
	})

	// A service restarting keeps its place: nothing is sent twice.
	f.start("b", 0)
	f.write("b", "b4\n")
	es2 = waitEntries(t, rx2, 2)
	assert.Equal(t, []string{"b:b3", "b:b4"}, msgs(es2))

	// Removing the target stops it.
	f.m.SetPlan(mustPlan(t, twoServices))
	assert.Empty(t, f.m.Status())
	assert.Len(t, rx.Entries(), 3)
}

func TestFlushDelay(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{FlushDelay: 300 * time.Millisecond})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[a]", "{}")))
	f.start("a", 0)
	start := time.Now()
	f.write("a", "one\n")
	waitEntries(t, rx, 1)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "sent before the flush delay")
	// A full batch goes at once.
	start = time.Now()
	for i := range DefaultMaxBatch {
		f.write("a", "x%d\n", i)
	}
	waitEntries(t, rx, 1+DefaultMaxBatch)
	assert.Less(t, time.Since(start), 300*time.Millisecond+time.Second, "a full batch waited")
}

func TestNoGoroutinesLeft(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	m := New(Options{Logf: func(string, ...any) {}})
	m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[a]", "{}")))
	buf := logs.NewBuffer(0)
	m.ServiceStarting("a", buf)
	io.WriteString(logs.NewWriter("a", buf, nil), "x\n")
	m.Close(context.Background())
	buf.Write([]byte("after close\n")) // no watcher left to wake
	assert.Empty(t, m.targets["lk"].sources)
}

// TestNewBufferAfterForget: a service whose record was forgotten starts
// again with a new buffer, and forwarding follows the new buffer.
func TestNewBufferAfterForget(t *testing.T) {
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	f.m.SetPlan(mustPlan(t, twoServices, targetYAML("lk", "loki", rx.URL(), "[a]", "{}")))
	f.start("a", 0)
	f.write("a", "old buffer\n")
	waitEntries(t, rx, 1)

	// The record is forgotten: the next run writes into a fresh buffer.
	delete(f.bufs, "a")
	f.start("a", 0)
	f.write("a", "new buffer\n")
	es := waitEntries(t, rx, 2)
	require.Len(t, es, 2)
	assert.Equal(t, "old buffer", es[0].Message)
	assert.Equal(t, "new buffer", es[1].Message)
}

// TestWriteMetrics checks the log target families of GET /v1/metrics: none
// without targets, then one block per counter with a sample per target.
func TestWriteMetrics(t *testing.T) {
	text := func(m *Manager) string {
		var b strings.Builder
		w := metrics.NewWriter(&b)
		m.WriteMetrics(w)
		require.NoError(t, w.Flush())
		return b.String()
	}
	rx, err := logtest.NewLoki()
	require.NoError(t, err)
	defer rx.Close()
	f := newFixture(t, Options{})
	assert.Equal(t, "", text(f.m), "no targets, no families")

	f.m.SetPlan(mustPlan(t, twoServices,
		targetYAML("lk", "loki", rx.URL(), "[a]", "{}"),
		targetYAML("other", "loki", rx.URL(), "[b]", "{}")))
	f.start("a", 0)
	f.start("b", 0)
	f.write("a", "one\ntwo\n")
	f.write("b", "three\n")
	waitEntries(t, rx, 3)
	testutil.WaitFor(t, 20*time.Second, func() error {
		if st := f.m.Status(); st[0].Sent != 2 || st[1].Sent != 1 {
			return fmt.Errorf("sent %d and %d", st[0].Sent, st[1].Sent)
		}
		return nil
	})
	assert.Equal(t, `# HELP pebble_log_target_sent_total Log entries the log target's receiver accepted
# TYPE pebble_log_target_sent_total counter
pebble_log_target_sent_total{target="lk"} 2
pebble_log_target_sent_total{target="other"} 1

# HELP pebble_log_target_dropped_total Log entries given up on: refused by the receiver, or unsent when the target was removed or the daemon stopped
# TYPE pebble_log_target_dropped_total counter
pebble_log_target_dropped_total{target="lk"} 0
pebble_log_target_dropped_total{target="other"} 0

# HELP pebble_log_target_lost_bytes_total Bytes of service output overwritten in the service buffers before the log target could send them
# TYPE pebble_log_target_lost_bytes_total counter
pebble_log_target_lost_bytes_total{target="lk"} 0
pebble_log_target_lost_bytes_total{target="other"} 0

# HELP pebble_log_target_failures_total Failed attempts to send logs to the log target
# TYPE pebble_log_target_failures_total counter
pebble_log_target_failures_total{target="lk"} 0
pebble_log_target_failures_total{target="other"} 0

`, text(f.m))
}
