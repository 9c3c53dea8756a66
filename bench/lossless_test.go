package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
)

// The lossless logs benchmarks (issue 18) run bench/logwriter writing
// numbered 100-byte lines, and check every line that comes out of the
// daemon's stdout (--verbose) or of a /v1/logs follower: lines lost (for a
// follower, as its truncation markers report them), duplicated, reordered.
// Each reports the flat-out rate, then paced rates (N lines/s for 2 s)
// stepping up until one is not received in full at its pace, next to the
// same steps through a plain pipe read by this process; and the daemon's
// CPU per million lines, its peak RSS and the p99 of GET /v1/services
// called every 10 ms meanwhile (for the flat-out run, next to the same p99
// in the second before the writer starts, which shows what the machine's
// load alone costs). PEBBLE_PROFILE_DIR=<dir> builds the daemon
// with -tags pprof and has each daemon write its profiles there.

// seqCheck follows a stream of numbered lines.
type seqCheck struct {
	next                 int // the number expected next
	received, dup, reord int
	missed, reportedMiss int
	seen                 []bool
}

func (c *seqCheck) line(n int) {
	if n >= len(c.seen) {
		c.seen = slices.Grow(c.seen, n+1-len(c.seen))[:n+1]
	}
	switch {
	case c.seen[n]:
		c.dup++
		return
	case n < c.next:
		c.reord++
		c.missed--
	case n > c.next:
		c.missed += n - c.next
	}
	c.seen[n] = true
	c.received++
	c.next = max(c.next, n+1)
}

var truncatedLinesRe = regexp.MustCompile(`output truncated: (\d+) lines?`)

// readNumbered reads lines holding "<n> " (after a prefix ending in sep)
// from r into c until the line numbered last, or EOF. It checks every line
// but costs little per line, so that the reader is not what limits the
// rate: it looks for sep where the previous line had it, and only a message
// starting with "(" can be a truncation marker.
func readNumbered(r io.Reader, sep []byte, last int, c *seqCheck) {
	br := bufio.NewReaderSize(r, 1<<20)
	// After a marker saying k lines were missed, the next line is numbered
	// c.next+k, unless the rest of a line (whose start was lost, and which
	// the marker counted) comes first: that rest is skipped.
	pending, afterMarker := 0, false
	msgAt := 0 // where the message began in the previous line
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		var msg []byte
		if msgAt >= len(sep) && len(line) > msgAt && bytes.Equal(line[msgAt-len(sep):msgAt], sep) {
			msg = line[msgAt:]
		} else if i := bytes.Index(line, sep); i >= 0 {
			msgAt = i + len(sep)
			msg = line[msgAt:]
		} else {
			continue
		}
		if len(msg) > 0 && msg[0] == '(' {
			if m := truncatedLinesRe.FindSubmatch(msg[:min(len(msg), 80)]); m != nil {
				k, _ := strconv.Atoi(string(m[1]))
				c.reportedMiss += k
				pending += k
				afterMarker = true
				continue
			}
		}
		n, ok := leadingNumber(msg)
		if afterMarker {
			afterMarker = false
			if !ok || n != c.next+pending {
				continue // the rest of a line the marker counted
			}
		}
		if !ok {
			continue
		}
		pending = 0
		c.line(n)
		if n == last {
			return
		}
	}
}

// leadingNumber parses the decimal number that msg starts with, up to a
// space.
func leadingNumber(msg []byte) (int, bool) {
	n, i := 0, 0
	for ; i < len(msg) && msg[i] != ' '; i++ {
		d := msg[i] - '0'
		if d > 9 || i > 18 {
			return 0, false
		}
		n = n*10 + int(d)
	}
	return n, i > 0 && i < len(msg)
}

// apiLatency calls GET /v1/services every 10 ms until stop is closed and
// returns the p99.
func apiLatency(d *daemon, stop <-chan struct{}) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		var lat []time.Duration
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				slices.Sort(lat)
				if len(lat) == 0 {
					out <- 0
					return
				}
				out <- lat[len(lat)*99/100]
				return
			case <-tick.C:
			}
			start := time.Now()
			d.client.Services(context.Background(), &client.ServicesOptions{})
			lat = append(lat, time.Since(start))
		}
	}()
	return out
}

// losslessRun is one run of the writer through the daemon.
type losslessRun struct {
	follower bool          // read a follower (else the daemon's stdout)
	rate     int           // lines/s; 0 flat out
	block    bool          // flat out in 64 KiB writes
	d        time.Duration // of writing
}

type losslessResult struct {
	written    int
	check      seqCheck
	took       time.Duration // until the last line was received
	cpuPerM    float64
	peakRSSMiB float64
	p99        time.Duration
	// p99Idle is the p99 of GET /v1/services in the second before the
	// writer starts: what the machine's load alone costs the API.
	p99Idle time.Duration
}

func runLossless(b *testing.B, run losslessRun) losslessResult {
	dir := b.TempDir()
	gate, count := filepath.Join(dir, "go"), filepath.Join(dir, "count")
	args := fmt.Sprintf("-d %s -size 100 -gate %s -count %s", run.d, gate, count)
	if run.rate > 0 {
		args += " -rate " + strconv.Itoa(run.rate)
	}
	if run.block {
		args += " -block"
	}
	layer := "services:\n    w:\n        override: replace\n        command: " + logWriter(b) + " " + args + "\n"
	var stdoutR *os.File
	var stdoutW io.Writer
	var daemonArgs []string
	if !run.follower {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		stdoutR, stdoutW = r, w
		daemonArgs = []string{"--verbose"}
		defer r.Close()
	}
	d := startDaemonWith(b, layer, daemonArgs, stdoutW)
	if f, ok := stdoutW.(*os.File); ok {
		f.Close()
	}
	defer d.stop(b)
	ctx := context.Background()
	if _, err := d.client.Start(ctx, &client.ServiceOptions{Names: []string{"w"}}); err != nil {
		b.Fatal(err)
	}
	for {
		svcs, err := d.client.Services(ctx, &client.ServicesOptions{Names: []string{"w"}})
		if err == nil && len(svcs) == 1 && svcs[0].Current == client.StatusActive {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var src io.Reader = stdoutR
	sep := []byte("[w] ")
	if run.follower {
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(d.dir, ".pebble.socket"))
		}}}
		resp, err := hc.Get("http://localhost/v1/logs?follow=true&services=w")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		src, sep = resp.Body, []byte(`"message":"`)
	}
	res := losslessResult{}
	if run.rate == 0 {
		idle := make(chan struct{})
		idleP99 := apiLatency(d, idle)
		time.Sleep(time.Second)
		close(idle)
		res.p99Idle = <-idleP99
	}
	pid := d.cmd.Process.Pid
	cpu0 := procCPU(b, pid)
	stop := make(chan struct{})
	p99 := apiLatency(d, stop)
	start := time.Now()
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		readNumbered(src, sep, -1, &res.check)
	}()
	res.written = waitCount(b, count, run.d)
	// Everything written is received, or a follower was told it missed it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
		case <-time.After(10 * time.Millisecond):
		}
		if res.check.next > res.written || time.Now().After(deadline) {
			break
		}
	}
	res.took = time.Since(start)
	close(stop)
	res.p99 = <-p99
	res.cpuPerM = (procCPU(b, pid) - cpu0).Seconds() / (float64(res.written) / 1e6)
	res.peakRSSMiB = float64(procStatusKB(b, pid, "VmHWM")) / 1024
	return res
}

// pipePaced reports whether a plain pipe read by this process takes rate
// lines/s for d: the writer keeps its pace.
func pipePaced(b *testing.B, rate int, d time.Duration) bool {
	n := writerFloor(b, d, true, "-size", "100", "-rate", strconv.Itoa(rate))
	return n >= 0.98*float64(rate)
}

// keptPace reports whether a paced run received every line at its pace.
func keptPace(r losslessResult, run losslessRun) bool {
	c := r.check
	return r.written >= int(0.98*float64(run.rate)*run.d.Seconds()) && c.received == r.written &&
		c.dup == 0 && c.reord == 0 && c.reportedMiss == 0 && r.took < run.d+time.Second
}

func benchmarkLossless(b *testing.B, follower bool) {
	name := "daemon stdout (--verbose)"
	if follower {
		name = "GET /v1/logs?follow=true"
	}
	for i := 0; i < b.N; i++ {
		const flat = 5 * time.Second
		pipe := writerFloor(b, flat, true, "-size", "100", "-block")
		r := runLossless(b, losslessRun{follower: follower, d: flat, block: true})
		c := r.check
		rate := float64(c.received) / r.took.Seconds()
		fmt.Printf("\n%s, 100-byte lines, flat out in 64 KiB writes for %v:\n", name, flat)
		fmt.Printf("  received        %12.0f lines/s  (%d of %d lines in %v)  floor pipe %.0f lines/s, ratio %.3f\n",
			rate, c.received, r.written, r.took.Round(time.Millisecond), pipe, rate/pipe)
		fmt.Printf("  lost %d (reported to the reader: %d), duplicated %d, reordered %d\n",
			r.written-c.received, c.reportedMiss, c.dup, c.reord)
		fmt.Printf("  daemon CPU %.2f s per million lines, peak RSS %.1f MiB, GET /v1/services p99 %v (in the second before, idle: %v)\n",
			r.cpuPerM, r.peakRSSMiB, r.p99.Round(10*time.Microsecond), r.p99Idle.Round(10*time.Microsecond))
		b.ReportMetric(rate, "lines/s")
		b.ReportMetric(rate/pipe, "ratio-pipe")
		b.ReportMetric(float64(r.written-c.received), "lost")
		b.ReportMetric(float64(c.dup+c.reord), "dup+reordered")

		const paced = 2 * time.Second
		best, pipeBest, allOK := 0, 0, true
		for _, rate := range []int{250_000, 500_000, 1_000_000, 1_500_000, 2_000_000} {
			run := losslessRun{follower: follower, rate: rate, d: paced}
			r := runLossless(b, run)
			ok := keptPace(r, run)
			pipeOK := pipePaced(b, rate, paced)
			fmt.Printf("  paced %9d lines/s: received %d of %d (lost %d, told %d, dup %d, reordered %d) in %v, CPU %.2f s/M, RSS %.1f MiB, API p99 %v; pipe kept pace: %v\n",
				rate, r.check.received, r.written, r.written-r.check.received, r.check.reportedMiss, r.check.dup, r.check.reord,
				r.took.Round(time.Millisecond), r.cpuPerM, r.peakRSSMiB, r.p99.Round(10*time.Microsecond), pipeOK)
			if allOK = allOK && ok; allOK {
				best = rate
			}
			if pipeOK {
				pipeBest = max(pipeBest, rate)
			}
			if !ok && !pipeOK {
				break
			}
		}
		fmt.Printf("  highest paced rate received in full: %d lines/s (plain pipe, same run: %d lines/s)\n", best, pipeBest)
		b.ReportMetric(float64(best), "paced-lossless-lines/s")
		b.ReportMetric(float64(pipeBest), "pipe-paced-lines/s")
	}
}

// BenchmarkLogsStdoutLossless: the daemon's stdout in verbose mode.
func BenchmarkLogsStdoutLossless(b *testing.B) { benchmarkLossless(b, false) }

// BenchmarkLogsFollowLossless: a /v1/logs follower.
func BenchmarkLogsFollowLossless(b *testing.B) { benchmarkLossless(b, true) }
