package otelcol

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/internal/logfwd/logtest"
	"github.com/pebble-project/pebble/internal/logs"
	"github.com/pebble-project/pebble/internal/testutil"
	"github.com/pebble-project/pebble/tests/harness"
	"github.com/stretchr/testify/require"
)

var (
	// testRun runs our daemon, built from the repository by TestMain.
	testRun *harness.Run
	// collectorBin is the collector of ./collector.
	collectorBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("PEBBLE_E2E_BIN") == "" {
		// Our daemon as `make build` builds it, from the root module and
		// with its go.mod, not this module's.
		dir, err := os.MkdirTemp("", "pebble-otelcol-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "pebble")
		build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/pebble")
		build.Dir = "../.."
		build.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build pebble: %v\n%s", err, out)
			return 1
		}
		os.Setenv("PEBBLE_E2E_BIN", bin)
	}
	start := time.Now()
	bin, built, err := collectorBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if built {
		fmt.Fprintf(os.Stderr, "built the collector in %v: %s\n", time.Since(start).Round(time.Millisecond), bin)
	} else {
		fmt.Fprintf(os.Stderr, "collector from the cache: %s\n", bin)
	}
	collectorBin = bin
	r, err := harness.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close()
	testRun = r
	return r.CheckLeftovers(testutil.Run(m))
}

// What each service of TestForwardToCollector writes: numbered lines, and
// after two of them a line with bytes that are not UTF-8 and a line longer
// than a log entry. All of it (with the "<time> [<service>] " prefixes, about
// 60 KiB) fits in the service's 100 KiB log buffer, so none of it can be
// overwritten before a target has read it, however late that is.
const (
	numberedLines = 1000
	badAfter      = 100
	longAfter     = 200
	longLength    = 10000 // of the x's after "<name> long "
)

// writerScript is /bin/sh; its arguments: the service's name and
// numberedLines.
const writerScript = `name=$1
i=0
while [ $i -lt $2 ]; do
	i=$((i+1))
	echo "$name line $i"
	if [ $i -eq ` + "%[1]d" + ` ]; then printf '%%s bad \377\376 bytes\n' "$name"; fi
	if [ $i -eq ` + "%[2]d" + ` ]; then printf '%%s long ' "$name"; head -c ` + "%[3]d" + ` /dev/zero | tr '\0' x; echo; fi
done
exec sleep 1000
`

// expected is what a receiver gets of what writerScript writes for name:
// invalid UTF-8 replaced, the long line in entries of logs.MaxEntrySize
// bytes (docs/logs.md).
func expected(name string) []string {
	var out []string
	for i := 1; i <= numberedLines; i++ {
		out = append(out, fmt.Sprintf("%s line %d", name, i))
		if i == badAfter {
			out = append(out, name+" bad \uFFFD\uFFFD bytes")
		}
		if i == longAfter {
			for rest := name + " long " + strings.Repeat("x", longLength); rest != ""; {
				n := min(len(rest), logs.MaxEntrySize)
				out = append(out, rest[:n])
				rest = rest[n:]
			}
		}
	}
	return out
}

// byService splits entries by service, keeping their order.
func byService(entries []logtest.Entry) map[string][]logtest.Entry {
	out := map[string][]logtest.Entry{}
	for _, e := range entries {
		out[e.Service] = append(out[e.Service], e)
	}
	return out
}

func messages(entries []logtest.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Message
	}
	return out
}

// TestForwardToCollector forwards two services to the real OpenTelemetry
// Collector and, with the same labels, to our format-checking OTLP
// receiver. Every line arrives at each exactly once and in order, with the
// service.name and label attributes docs/logs.md promises, what the
// collector exports passes our receiver's format check, and both got the
// very same entries (times included).
func TestForwardToCollector(t *testing.T) {
	col := startCollector(t)
	rx, err := logtest.NewOTLP()
	require.NoError(t, err)
	t.Cleanup(rx.Close)

	scripts := t.TempDir()
	writer := filepath.Join(scripts, "writer.sh")
	script := fmt.Sprintf(writerScript, badAfter, longAfter, longLength)
	require.NoError(t, os.WriteFile(writer, []byte(script), 0o755))
	target := func(location string) string {
		return `
        override: replace
        type: opentelemetry
        location: ` + location + `
        services: [all]
        labels:
            deploy: $DEPLOY
            team: platform ops`
	}
	dir := testRun.NewDir(t, map[string]string{"001-otel.yaml": fmt.Sprintf(`
services:
    alpha:
        override: replace
        command: /bin/sh %[1]s alpha %[2]d
        startup: enabled
        environment: {DEPLOY: blue}
    beta:
        override: replace
        command: /bin/sh %[1]s beta %[2]d
        startup: enabled
        environment: {DEPLOY: green}
log-targets:
    collector:%[3]s
    checker:%[4]s
`, writer, numberedLines, target(col.URL), target(rx.URL()))})
	d := testRun.Start(t, dir)

	want := map[string][]string{"alpha": expected("alpha"), "beta": expected("beta")}
	total := len(want["alpha"]) + len(want["beta"])
	const deadline = 60 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	require.NoError(t, rx.WaitFor(ctx, func(es []logtest.Entry) error {
		if len(es) < total {
			return fmt.Errorf("our receiver has %d of %d entries", len(es), total)
		}
		return nil
	}))
	testutil.WaitFor(t, deadline, func() error {
		es, _, err := col.Entries()
		if err != nil {
			return err
		}
		if len(es) < total {
			return fmt.Errorf("the collector exported %d of %d entries", len(es), total)
		}
		return nil
	})
	// The daemon counted every entry as sent to both targets, at the first
	// attempt: none lost, dropped or sent again.
	testutil.WaitFor(t, deadline, func() error {
		_, env := d.MustRequest("GET", "/v1/log-targets", nil)
		var targets []struct {
			Name      string `json:"name"`
			Sent      int    `json:"sent"`
			Dropped   int    `json:"dropped"`
			LostBytes int    `json:"lost-bytes"`
			Failures  int    `json:"failures"`
		}
		if err := json.Unmarshal(env.Result, &targets); err != nil {
			return err
		}
		if len(targets) != 2 {
			return fmt.Errorf("targets: %+v", targets)
		}
		for _, tg := range targets {
			if tg.Sent != total || tg.Dropped+tg.LostBytes+tg.Failures != 0 {
				return fmt.Errorf("target %+v, want %d sent and nothing else", tg, total)
			}
		}
		return nil
	})
	// Stopped, the daemon sends nothing more and the collector has
	// written everything: what they hold now is all they will ever get.
	d.Stop()
	col.Stop()

	got, problems, err := col.Entries()
	require.NoError(t, err)
	require.Empty(t, problems, "the collector's export against our receiver's format check")
	require.Empty(t, rx.Problems(), "our receiver's format check")
	fromCollector, fromChecker := byService(got), byService(rx.Entries())
	require.ElementsMatch(t, []string{"alpha", "beta"}, slices.Collect(maps.Keys(fromCollector)))
	for service, deploy := range map[string]string{"alpha": "blue", "beta": "green"} {
		es := fromCollector[service]
		require.Equal(t, want[service], messages(es), "%s: every line once, in order", service)
		for i, e := range es {
			require.Equal(t, map[string]string{"deploy": deploy, "team": "platform ops"}, e.Labels, "%s entry %d", service, i)
			require.WithinDuration(t, time.Now(), e.Time, 5*time.Minute, "%s entry %d", service, i)
			if i > 0 {
				require.False(t, e.Time.Before(es[i-1].Time), "%s entry %d: time goes back", service, i)
			}
		}
		require.Equal(t, fromChecker[service], es, "%s: the collector and our receiver got different entries", service)
	}
	t.Logf("%d entries of 2 services checked at the collector and at our receiver", total)
}
