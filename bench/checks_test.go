package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	checkCount  = 100
	checkPeriod = 100 * time.Millisecond
	// cpuWindow is how long the daemon's CPU time is measured.
	cpuWindow = 5 * time.Second
	// clockTicks is USER_HZ, the unit of utime and stime in
	// /proc/<pid>/stat; it is 100 on every Linux architecture Go supports.
	clockTicks = 100
)

// checksLayer is a layer of checkCount checks of one type; target is the
// YAML of the type's section.
func checksLayer(target string) string {
	var sb strings.Builder
	sb.WriteString("checks:\n")
	for i := 0; i < checkCount; i++ {
		fmt.Fprintf(&sb, "  chk%03d:\n    override: replace\n    period: %v\n    threshold: 3\n%s", i, checkPeriod, target)
	}
	return sb.String()
}

// cpuTicks returns utime+stime of a process, in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after it
	// start behind the last ')'.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("cannot parse /proc/%d/stat: %q", pid, data)
	}
	return utime + stime
}

// benchmarkChecks runs a daemon with checkCount checks of one type, every
// checkPeriod, lets them settle, then measures the daemon's CPU time over
// cpuWindow and reports it as a percentage of one core, with the check
// rate the target saw.
func benchmarkChecks(b *testing.B, target string, hits *atomic.Int64) {
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, checksLayer(target))
		ctx := context.Background()
		deadline := time.Now().Add(30 * time.Second)
		for {
			checks, err := d.client.Checks(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			ok := len(checks) == checkCount
			for _, c := range checks {
				if c.Status != "up" || c.Successes == nil || *c.Successes < 2 {
					ok = false
				}
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("checks did not all succeed within 30s: %+v", checks[0])
			}
			time.Sleep(100 * time.Millisecond)
		}

		pid := d.cmd.Process.Pid
		startTicks, startHits, start := cpuTicks(b, pid), hits.Load(), time.Now()
		time.Sleep(cpuWindow) // the measurement window
		ticks, n, elapsed := cpuTicks(b, pid)-startTicks, hits.Load()-startHits, time.Since(start)

		checks, err := d.client.Checks(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range checks {
			if c.Failures != 0 || c.Status != "up" {
				b.Errorf("check %s: %s, %d failures", c.Name, c.Status, c.Failures)
			}
		}
		d.stop(b)

		cpu := float64(ticks) / clockTicks / elapsed.Seconds() * 100
		b.ReportMetric(cpu, "cpu-%")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "checks/s")
		b.ReportMetric(float64(ticks)/clockTicks*1e6/float64(max(n, 1)), "cpu-µs/check")
	}
}

// BenchmarkHundredHTTPChecks: 100 HTTP checks every 100 ms against a local
// server. Target: under 5 % of one core.
func BenchmarkHundredHTTPChecks(b *testing.B) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("ok\n"))
	}))
	defer srv.Close()
	benchmarkChecks(b, "    http:\n      url: "+srv.URL+"/health\n", &hits)
}

// BenchmarkHundredTCPChecks: 100 TCP checks every 100 ms against a local
// listener.
func BenchmarkHundredTCPChecks(b *testing.B) {
	var hits atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	benchmarkChecks(b, fmt.Sprintf("    tcp:\n      host: 127.0.0.1\n      port: %d\n", port), &hits)
}
