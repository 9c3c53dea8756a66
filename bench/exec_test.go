package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
)

// percentile returns the p-th percentile (0-100) of durations.
// percentile returns the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// timeRuns runs f n times and returns each run's duration.
func timeRuns(b *testing.B, n int, f func() error) []time.Duration {
	b.Helper()
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ds[i] = time.Since(start)
	}
	return ds
}

// BenchmarkExecTrue measures the round trip of running `true` through the
// exec API (client: request, websockets, process, exit code from the
// change) and through `pebble exec true`, against a plain fork+exec of
// `true` in the same run.
func BenchmarkExecTrue(b *testing.B) {
	const apiRuns, cliRuns = 300, 100
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, "services: {}\n")
		ctx := context.Background()
		apiRun := func() error {
			p, err := d.client.Exec(ctx, &client.ExecOptions{Command: []string{"true"}})
			if err != nil {
				return err
			}
			return p.Wait(ctx)
		}
		timeRuns(b, 20, apiRun) // warm up
		api := timeRuns(b, apiRuns, apiRun)
		cli := timeRuns(b, cliRuns, func() error {
			cmd := exec.Command(pebbleBin, "exec", "true")
			cmd.Env = append(os.Environ(), "PEBBLE="+d.dir)
			return cmd.Run()
		})
		fork := timeRuns(b, apiRuns, func() error { return exec.Command("true").Run() })
		d.stop(b)

		floor := percentile(fork, 50)
		b.ReportMetric(ms(percentile(api, 50)), "api-p50-ms")
		b.ReportMetric(ms(percentile(api, 99)), "api-p99-ms")
		b.ReportMetric(ms(percentile(cli, 50)), "cli-p50-ms")
		b.ReportMetric(ms(percentile(cli, 99)), "cli-p99-ms")
		b.ReportMetric(ms(floor), "fork-p50-ms")
		b.ReportMetric(float64(percentile(api, 50))/float64(floor), "api/fork")
		b.ReportMetric(float64(percentile(cli, 50))/float64(floor), "cli/fork")
	}
}

// BenchmarkPushPull256MiB pushes and pulls a 256 MiB file through the
// client and compares the throughput with cp on the same disk; it also
// reports the daemon's peak RSS (VmHWM) during the transfers.
func BenchmarkPushPull256MiB(b *testing.B) {
	const size = 256 << 20
	for i := 0; i < b.N; i++ {
		work := b.TempDir()
		src := filepath.Join(work, "src")
		f, err := os.Create(src)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, io.LimitReader(rand.NewChaCha8([32]byte{7}), size)); err != nil {
			b.Fatal(err)
		}
		f.Close()

		// cp first, on the same disk; every phase starts with the dirty
		// pages of the previous one written back, so none pays for another.
		syscall.Sync()
		cpStart := time.Now()
		if out, err := exec.Command("cp", src, filepath.Join(work, "copied")).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v: %s", err, out)
		}
		cp := time.Since(cpStart)

		d := startDaemon(b, "services: {}\n")
		ctx := context.Background()
		before := vmHWM(b, d.cmd.Process.Pid)

		syscall.Sync()
		pushStart := time.Now()
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		err = d.client.Push(ctx, &client.PushOptions{Source: in, Path: filepath.Join(work, "pushed")})
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		push := time.Since(pushStart)

		syscall.Sync()
		pullStart := time.Now()
		out, err := os.Create(filepath.Join(work, "pulled"))
		if err != nil {
			b.Fatal(err)
		}
		err = d.client.Pull(ctx, &client.PullOptions{Path: filepath.Join(work, "pushed"), Target: out})
		out.Close()
		if err != nil {
			b.Fatal(err)
		}
		pull := time.Since(pullStart)
		peak := vmHWM(b, d.cmd.Process.Pid)
		d.stop(b)

		mbps := func(d time.Duration) float64 { return size / 1e6 / d.Seconds() }
		b.ReportMetric(mbps(push), "push-MB/s")
		b.ReportMetric(mbps(pull), "pull-MB/s")
		b.ReportMetric(mbps(cp), "cp-MB/s")
		b.ReportMetric(mbps(push)/mbps(cp), "push/cp")
		b.ReportMetric(mbps(pull)/mbps(cp), "pull/cp")
		b.ReportMetric(float64(before)/(1<<20), "rss-before-MiB")
		b.ReportMetric(float64(peak)/(1<<20), "rss-peak-MiB")
	}
}

// vmHWM returns a process's peak resident set size in bytes.
func vmHWM(b *testing.B, pid int) int64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10
		}
	}
	b.Fatalf("no VmHWM for pid %d", pid)
	return 0
}
