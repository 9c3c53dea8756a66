package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/pebble-project/pebble/client"
)

// execScenario runs `true` through the exec API cfg.execRuns times on a
// fresh daemon and reports the p50 of the first and of the last quarter (a
// daemon whose exec slows with use shows it there); the floor is a plain
// fork+exec of true.
func (h *harness) execScenario() error {
	firstName := fmt.Sprintf("exec true via API, p50, first quarter of %d", h.cfg.execRuns)
	lastName := fmt.Sprintf("exec true via API, p50, last quarter of %d", h.cfg.execRuns)
	for range h.cfg.rounds {
		for column, bin := range h.daemons() {
			runs, err := h.execRuns(bin)
			if err != nil {
				return err
			}
			h.addQuarters(firstName, lastName, column, runs)
		}
		var runs []time.Duration
		for range h.cfg.execRuns {
			start := time.Now()
			if err := exec.Command("true").Run(); err != nil {
				return fmt.Errorf("cannot run true: %w", err)
			}
			runs = append(runs, time.Since(start))
		}
		h.addQuarters(firstName, lastName, floor, runs)
	}
	return nil
}

func (h *harness) addQuarters(firstName, lastName string, column int, runs []time.Duration) {
	q := len(runs) / 4
	h.table.add(firstName, "ms", column, ms(percentile(runs[:q], 50)))
	h.table.add(lastName, "ms", column, ms(percentile(runs[len(runs)-q:], 50)))
}

func (h *harness) execRuns(bin string) (runs []time.Duration, err error) {
	s, err := h.startDaemon(bin, servicesLayer(0, ""))
	if err != nil {
		return nil, err
	}
	defer func() {
		if stopErr := s.stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
		}
	}()
	c, err := client.New(&client.Config{Socket: s.socket})
	if err != nil {
		return nil, err
	}
	for range h.cfg.execRuns {
		took, err := retried(bin+": exec true", func() (time.Duration, error) { return execOnce(c) })
		if err != nil {
			return nil, err
		}
		runs = append(runs, took)
	}
	return runs, nil
}

// execAttempts is how many times one timed exec is tried before the
// scenario fails.
const execAttempts = 3

// retried times one exec with run, trying again up to execAttempts in all:
// Pebble tears down an exec's websockets when the command exits before
// the client has connected them, so an exec of true fails now and then.
// Each failed attempt is said on stderr and its time left out.
func retried(what string, run func() (time.Duration, error)) (time.Duration, error) {
	took, err := run()
	for attempt := 2; err != nil && attempt <= execAttempts; attempt++ {
		fmt.Fprintf(os.Stderr, "sidebyside: %s failed (%v); timing it again\n", what, err)
		took, err = run()
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return took, nil
}

// execOnce runs true through the exec API and returns how long it took.
func execOnce(c *client.Client) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	p, err := c.Exec(ctx, &client.ExecOptions{Command: []string{"true"}})
	if err == nil {
		err = p.Wait(ctx)
	}
	return time.Since(start), err
}

// idleSettle is how long a daemon sits idle before its RSS is read.
const idleSettle = 2 * time.Second

// idleScenarios reads the RSS of an idle daemon with 0 and 100 running
// services, after idleSettle; the floor is the minimal Go server.
func (h *harness) idleScenarios() error {
	for _, n := range []int{0, 100} {
		name := fmt.Sprintf("idle RSS, %d services", n)
		for range h.cfg.rounds {
			for column, bin := range h.daemons() {
				mb, err := h.idleRSS(bin, n)
				if err != nil {
					return err
				}
				h.table.add(name, "MB", column, mb)
			}
			s, err := startFloor(h.targets.self, h.work, []byte(`{"type":"sync","status-code":200,"status":"OK","result":null}`))
			if err != nil {
				return err
			}
			time.Sleep(idleSettle)
			mb, err := s.rss()
			s.stop()
			if err != nil {
				return err
			}
			h.table.add(name, "MB", floor, mb)
		}
	}
	return nil
}

func (h *harness) idleRSS(bin string, n int) (mb float64, err error) {
	s, err := h.startDaemon(bin, servicesLayer(n, "disabled"))
	if err != nil {
		return 0, err
	}
	defer func() {
		if stopErr := s.stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
		}
	}()
	if n > 0 {
		c, err := client.New(&client.Config{Socket: s.socket})
		if err != nil {
			return 0, err
		}
		if _, err := timeChange(c, c.Start, &client.ServiceOptions{Names: serviceNames(n)}); err != nil {
			return 0, fmt.Errorf("%s: start %d services: %w", bin, n, err)
		}
	}
	time.Sleep(idleSettle)
	return s.rss()
}
