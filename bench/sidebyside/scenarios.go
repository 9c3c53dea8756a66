package main

import (
	"context"
	"fmt"
	"iter"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pebble-project/pebble/client"
)

// okayDelay is how long a start waits before it counts as successful; it is
// part of any start's floor.
const okayDelay = time.Second

// apiServices is how many running services the daemons hold while their API
// is measured.
const apiServices = 10

// harness runs the scenarios and fills the table.
type harness struct {
	cfg     config
	targets targets
	work    string
	table   *table
}

// servicesLayer returns a layer of n services running sleep, started with
// the daemon when startup is "enabled".
func servicesLayer(n int, startup string) string {
	if n == 0 {
		return "services: {}\n"
	}
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  svc%04d:\n    override: replace\n    command: sleep 1000\n    startup: %s\n", i, startup)
	}
	return sb.String()
}

func serviceNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc%04d", i)
	}
	return names
}

// daemons yields the supervisors measured, by column: ours, then Pebble
// unless -no-pebble.
func (h *harness) daemons() iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		if !yield(ours, h.targets.ours) || h.cfg.noPebble {
			return
		}
		yield(canonical, h.targets.pebble)
	}
}

// apiScenarios measures GET path: p50 of sequential requests from one
// client, and requests/s from 16 clients. The floor answers the body our
// daemon gave for the same path.
func (h *harness) apiScenarios(path string) error {
	p50Name := fmt.Sprintf("GET %s, 1 client, p50", path)
	rpsName := fmt.Sprintf("GET %s, 16 clients", path)
	layer := servicesLayer(apiServices, "enabled")
	for range h.cfg.rounds {
		var body []byte
		for column, bin := range h.daemons() {
			s, err := h.startDaemon(bin, layer)
			if err != nil {
				return err
			}
			if column == ours {
				body, err = s.get(path)
			}
			if err == nil {
				err = h.measureAPI(s, path, column, p50Name, rpsName)
			}
			if stopErr := s.stop(); err == nil && stopErr != nil {
				err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
			}
			if err != nil {
				return err
			}
		}
		s, err := startFloor(h.targets.self, h.work, body)
		if err != nil {
			return err
		}
		err = h.measureAPI(s, path, floor, p50Name, rpsName)
		s.stop()
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) measureAPI(s *server, path string, column int, p50Name, rpsName string) error {
	var lat []time.Duration
	for i := range h.cfg.latencyN + 20 {
		start := time.Now()
		if _, err := s.get(path); err != nil {
			return err
		}
		if i >= 20 { // the first ones warm up
			lat = append(lat, time.Since(start))
		}
	}
	h.table.add(p50Name, "ms", column, ms(percentile(lat, 50)))
	if path == "/v1/health" { // probes time out (Juju's after 1 s): the tail matters
		h.table.add(fmt.Sprintf("GET %s, 1 client, p99", path), "ms", column, ms(percentile(lat, 99)))
	}

	const clients = 16
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	end := time.Now().Add(h.cfg.rpsWindow)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				if _, err := s.get(path); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	h.table.add(rpsName, "req/s", column, float64(done.Load())/time.Since(start).Seconds())
	return nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bigCount is the service count that -services-1000 adds; it runs one round.
const bigCount = 1000

// startStopScenarios starts N services in one change and stops them in
// another, timing each from the request to the change being Done. The
// floor spawns N sleep processes (plus the okay delay for the start) and
// kills and reaps them.
func (h *harness) startStopScenarios() error {
	for _, n := range h.cfg.counts {
		startName := fmt.Sprintf("start %d services, change Done", n)
		stopName := fmt.Sprintf("stop %d services, change Done", n)
		// The daemon's own CPU time for each phase, which machine noise
		// moves far less than the elapsed time.
		startCPUName := fmt.Sprintf("start %d services, daemon CPU", n)
		stopCPUName := fmt.Sprintf("stop %d services, daemon CPU", n)
		rounds := h.cfg.rounds
		if n >= bigCount { // Pebble takes about 30 s a phase there
			rounds = 1
		}
		for range rounds {
			for column, bin := range h.daemons() {
				p, err := h.startStop(bin, n)
				if err != nil {
					return err
				}
				h.table.add(startName, "s", column, p.started.Seconds())
				h.table.add(stopName, "s", column, p.stopped.Seconds())
				h.table.add(startCPUName, "s", column, p.startCPU.Seconds())
				h.table.add(stopCPUName, "s", column, p.stopCPU.Seconds())
			}
			started, stopped, err := spawnFloor(n)
			if err != nil {
				return err
			}
			h.table.add(startName, "s", floor, (started + okayDelay).Seconds())
			h.table.add(stopName, "s", floor, stopped.Seconds())
		}
	}
	return nil
}

// phases are the elapsed and daemon CPU times of a start and a stop.
type phases struct {
	started, stopped, startCPU, stopCPU time.Duration
}

func (h *harness) startStop(bin string, n int) (p phases, err error) {
	s, err := h.startDaemon(bin, servicesLayer(n, "disabled"))
	if err != nil {
		return p, err
	}
	defer func() {
		if stopErr := s.stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
		}
	}()
	c, err := client.New(&client.Config{Socket: s.socket})
	if err != nil {
		return p, err
	}
	opts := &client.ServiceOptions{Names: serviceNames(n)}
	cpu0, err := s.cpu()
	if err != nil {
		return p, err
	}
	if p.started, err = timeChange(c, c.Start, opts); err != nil {
		return p, fmt.Errorf("%s: start %d services: %w", bin, n, err)
	}
	cpu1, err := s.cpu()
	if err != nil {
		return p, err
	}
	if p.stopped, err = timeChange(c, c.Stop, opts); err != nil {
		return p, fmt.Errorf("%s: stop %d services: %w", bin, n, err)
	}
	cpu2, err := s.cpu()
	if err != nil {
		return p, err
	}
	p.startCPU, p.stopCPU = cpu1-cpu0, cpu2-cpu1
	return p, nil
}

// timeChange times a service action from its request to its change being
// ready, an error unless the change is Done.
func timeChange(c *client.Client, action func(context.Context, *client.ServiceOptions) (string, error), opts *client.ServiceOptions) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	id, err := action(ctx, opts)
	if err != nil {
		return 0, err
	}
	chg, err := c.WaitChange(ctx, id, nil)
	if err != nil {
		return 0, err
	}
	if chg.Status != "Done" {
		return 0, fmt.Errorf("change %s ended %s: %s", id, chg.Status, chg.Err)
	}
	return time.Since(start), nil
}

// spawnFloor starts n sleep processes, then terminates and reaps them, timing
// each half.
func spawnFloor(n int) (started, stopped time.Duration, err error) {
	cmds := make([]*exec.Cmd, 0, n)
	defer func() {
		for _, c := range cmds {
			if c.ProcessState == nil {
				c.Process.Kill()
				c.Wait()
			}
		}
	}()
	start := time.Now()
	for range n {
		c := exec.Command("sleep", "1000")
		if err := c.Start(); err != nil {
			return 0, 0, fmt.Errorf("cannot start sleep: %w", err)
		}
		cmds = append(cmds, c)
	}
	started = time.Since(start)
	start = time.Now()
	for _, c := range cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range cmds {
		c.Wait()
	}
	return started, time.Since(start), nil
}
