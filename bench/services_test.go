package bench

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
)

const serviceCount = 1000

// okayDelay is how long every start waits before it counts as successful
// (behaviour.md §1); it is part of any start's floor.
const okayDelay = time.Second

func thousandServicesLayer() string {
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := 0; i < serviceCount; i++ {
		fmt.Fprintf(&sb, "  svc%04d:\n    override: replace\n    command: sleep 1000\n    kill-delay: 1s\n", i)
	}
	return sb.String()
}

func serviceNames() []string {
	names := make([]string, serviceCount)
	for i := range names {
		names[i] = fmt.Sprintf("svc%04d", i)
	}
	return names
}

// forkExecFloor starts and kills serviceCount sleep processes directly: the
// least any supervisor can spend on the same work.
func forkExecFloor(b *testing.B) time.Duration {
	start := time.Now()
	cmds := make([]*exec.Cmd, serviceCount)
	for i := range cmds {
		cmds[i] = exec.Command("sleep", "1000")
		if err := cmds[i].Start(); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	for _, c := range cmds {
		c.Process.Kill()
		c.Wait()
	}
	return elapsed
}

// benchmarkStartThousand starts 1000 independent services in one change and
// reports the time from the request to the change being ready, the same
// for stopping them, and the ratio to the floor (okay delay plus a plain
// fork/exec of 1000 processes).
func benchmarkStartThousand(b *testing.B, env ...string) {
	floor := okayDelay + forkExecFloor(b)
	names := serviceNames()
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, thousandServicesLayer(), env...)
		ctx := context.Background()
		start := time.Now()
		id, err := d.client.Start(ctx, &client.ServiceOptions{Names: names})
		if err != nil {
			b.Fatal(err)
		}
		chg, err := d.client.WaitChange(ctx, id, nil)
		if err != nil {
			b.Fatal(err)
		}
		if chg.Status != "Done" {
			b.Fatalf("start change ended %s: %s", chg.Status, chg.Err)
		}
		started := time.Since(start)

		stopStart := time.Now()
		id, err = d.client.Stop(ctx, &client.ServiceOptions{Names: names})
		if err != nil {
			b.Fatal(err)
		}
		if chg, err = d.client.WaitChange(ctx, id, nil); err != nil || chg.Status != "Done" {
			b.Fatalf("stop change: %v %+v", err, chg)
		}
		stopped := time.Since(stopStart)
		d.stop(b)

		b.ReportMetric(started.Seconds(), "start-s")
		b.ReportMetric(stopped.Seconds(), "stop-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(started.Seconds()/floor.Seconds(), "start/floor")
	}
}

// BenchmarkStartThousandServices measures with the state file on, as in
// production. Pebble v1.32 takes 26 s for this on the machine where the
// figure was measured.
func BenchmarkStartThousandServices(b *testing.B) {
	benchmarkStartThousand(b)
}

// BenchmarkStartThousandServicesNoPersist is the same with
// PEBBLE_PERSIST=never, to show what persistence costs.
func BenchmarkStartThousandServicesNoPersist(b *testing.B) {
	benchmarkStartThousand(b, "PEBBLE_PERSIST=never")
}
