package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
	"github.com/pebble-project/pebble/internal/logfwd/logtest"
)

// The logs benchmarks run bench/logwriter as a service: it writes numbered
// 80-byte lines as fast as it can for a fixed time. The daemon captures
// them into the service's 100 KiB ring buffer (the pipe makes the writer
// wait whenever the daemon is slower, so every line is captured). While it
// runs, the benchmark calls GET /v1/services every 10 ms.
//
// Reported: lines/s captured, the daemon's CPU seconds per million lines
// (utime+stime from /proc/<pid>/stat), its peak RSS (VmHWM), and the p99
// latency of the API calls. The floors, measured in the same run with the
// same writer and duration: lines/s into /dev/null, and into a pipe that
// the benchmark process reads and discards (the least any capture costs).

var (
	writerOnce sync.Once
	writerPath string
	writerErr  error
)

// logWriter builds bench/logwriter once.
func logWriter(b *testing.B) string {
	writerOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pebble-logwriter-")
		if err != nil {
			writerErr = err
			return
		}
		writerPath = filepath.Join(dir, "logwriter")
		out, err := exec.Command("go", "build", "-o", writerPath, "./logwriter").CombinedOutput()
		if err != nil {
			writerErr = fmt.Errorf("cannot build logwriter: %v\n%s", err, out)
		}
	})
	if writerErr != nil {
		b.Fatal(writerErr)
	}
	return writerPath
}

// writerFloor runs the writer for d with its stdout going to /dev/null, or
// to a pipe read by this process, and returns lines/s.
func writerFloor(b *testing.B, d time.Duration, pipe bool, args ...string) float64 {
	countFile := filepath.Join(b.TempDir(), "count")
	cmd := exec.Command(logWriter(b), append([]string{"-d", d.String(), "-count", countFile}, args...)...)
	var copied chan struct{}
	if pipe {
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		copied = make(chan struct{})
		go func() {
			io.Copy(io.Discard, out)
			close(copied)
		}()
	} else {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer null.Close()
		cmd.Stdout = null
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	n := waitCount(b, countFile, d)
	cmd.Process.Kill()
	cmd.Wait()
	if copied != nil {
		<-copied
	}
	return float64(n) / d.Seconds()
}

// waitCount waits for the writer to report its line count.
func waitCount(b *testing.B, path string, d time.Duration) int {
	deadline := time.Now().Add(d + 60*time.Second)
	for {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			n, err := strconv.Atoi(string(data))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
		if time.Now().After(deadline) {
			b.Fatalf("the writer did not finish within %v", d+60*time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procCPU returns the CPU time (user+system) of pid.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses).
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// procStatusKB returns a "kB" field of /proc/<pid>/status.
func procStatusKB(b *testing.B, pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

type captureRun struct {
	name     string
	duration time.Duration
	args     []string // writer arguments
	target   bool     // forward to a Loki receiver in this process
}

func benchmarkCapture(b *testing.B, run captureRun) {
	writer := logWriter(b)
	for i := 0; i < b.N; i++ {
		devNull := writerFloor(b, run.duration, false, run.args...)
		pipe := writerFloor(b, run.duration, true, run.args...)

		dir := b.TempDir()
		countFile := filepath.Join(dir, "count")
		command := strings.Join(append([]string{writer, "-d", run.duration.String(), "-count", countFile}, run.args...), " ")
		layer := "services:\n    writer:\n        override: replace\n        command: " + command + "\n"
		var loki *logtest.Loki
		if run.target {
			var err error
			if loki, err = logtest.NewLoki(); err != nil {
				b.Fatal(err)
			}
			defer loki.Close()
			layer += "log-targets:\n    loki:\n        override: replace\n        type: loki\n        location: " +
				loki.URL() + "\n        services: [all]\n"
		}
		d := startDaemon(b, layer)
		pid := d.cmd.Process.Pid
		ctx := context.Background()
		cpu0 := procCPU(b, pid)

		// API calls while the writer runs.
		stopCalls := make(chan struct{})
		callsDone := make(chan []time.Duration)
		go func() {
			var lat []time.Duration
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stopCalls:
					callsDone <- lat
					return
				case <-tick.C:
				}
				start := time.Now()
				if _, err := d.client.Services(ctx, &client.ServicesOptions{}); err != nil {
					b.Error(err)
				}
				lat = append(lat, time.Since(start))
			}
		}()

		id, err := d.client.Start(ctx, &client.ServiceOptions{Names: []string{"writer"}})
		if err != nil {
			b.Fatal(err)
		}
		if chg, err := d.client.WaitChange(ctx, id, nil); err != nil || chg.Status != "Done" {
			b.Fatalf("start: %v %+v", err, chg)
		}
		n := waitCount(b, countFile, run.duration)
		// Every line was captured: the last one is in the buffer.
		want := strconv.Itoa(n) + " "
		deadline := time.Now().Add(30 * time.Second)
		for {
			var last string
			err := d.client.Logs(ctx, &client.LogsOptions{Services: []string{"writer"}, N: 1, WriteLog: func(e client.LogEntry) error {
				last = e.Message
				return nil
			}})
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(last, want) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("last line captured %.20q, want line %d", last, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cpu := procCPU(b, pid) - cpu0
		hwm := procStatusKB(b, pid, "VmHWM")
		close(stopCalls)
		lat := <-callsDone
		slices.Sort(lat)
		p99 := lat[len(lat)*99/100]

		var targets []*client.LogTarget
		if run.target {
			if targets, err = d.client.LogTargets(ctx); err != nil {
				b.Fatal(err)
			}
		}
		d.stop(b)

		rate := float64(n) / run.duration.Seconds()
		cpuPerM := cpu.Seconds() / (float64(n) / 1e6)
		fmt.Printf("\n%s (%v of writing, 80-byte lines):\n", run.name, run.duration)
		fmt.Printf("  captured        %12.0f lines/s  (%d lines)\n", rate, n)
		fmt.Printf("  floor /dev/null %12.0f lines/s  ratio %.3f\n", devNull, rate/devNull)
		fmt.Printf("  floor pipe      %12.0f lines/s  ratio %.3f\n", pipe, rate/pipe)
		fmt.Printf("  daemon CPU      %12.2f s per million lines (%.1f s in all)\n", cpuPerM, cpu.Seconds())
		fmt.Printf("  daemon peak RSS %12.1f MiB\n", float64(hwm)/1024)
		fmt.Printf("  GET /v1/services during the run: p99 %v, max %v (%d calls)\n", p99, lat[len(lat)-1], len(lat))
		for _, t := range targets {
			fmt.Printf("  target %s: sent %d entries, lost %d bytes to the ring (receiver slower than the writer), dropped %d, failures %d\n",
				t.Name, t.Sent, t.LostBytes, t.Dropped, t.Failures)
		}

		b.ReportMetric(rate, "lines/s")
		b.ReportMetric(rate/devNull, "ratio-devnull")
		b.ReportMetric(rate/pipe, "ratio-pipe")
		b.ReportMetric(cpuPerM, "cpu-s/Mlines")
		b.ReportMetric(float64(hwm)/1024, "peak-RSS-MiB")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-api-ms")
	}
}

// BenchmarkLogsCapture: one write per line, the common case of a
// line-buffered service, for 10 s.
func BenchmarkLogsCapture(b *testing.B) {
	benchmarkCapture(b, captureRun{name: "capture, one write per line", duration: 10 * time.Second})
}

// BenchmarkLogsCaptureBlocks: 64 KiB writes, the most output per second
// a service can produce, for 5 s.
func BenchmarkLogsCaptureBlocks(b *testing.B) {
	benchmarkCapture(b, captureRun{name: "capture, 64 KiB writes", duration: 5 * time.Second, args: []string{"-block"}})
}

// BenchmarkLogsCaptureForwarding: one write per line, forwarded to a Loki
// receiver in the benchmark process, for 5 s. The receiver cannot keep up
// with the writer; the ring buffer absorbs the difference, so memory
// stays bounded and the loss is counted.
func BenchmarkLogsCaptureForwarding(b *testing.B) {
	benchmarkCapture(b, captureRun{name: "capture + forwarding to Loki", duration: 5 * time.Second, target: true})
}
