package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pebble-project/pebble/client"
)

// filesScenario pushes a file of cfg.fileMiB MiB through the files API and
// pulls it back, in MB/s each way; the floor moves the same bytes through
// the minimal Go HTTP server, which writes them to a file and reads them
// back from it.
func (h *harness) filesScenario() error {
	size := h.cfg.fileMiB << 20
	content := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{})
	rng.Read(content)
	pushName := fmt.Sprintf("files push %d MiB via API", h.cfg.fileMiB)
	pullName := fmt.Sprintf("files pull %d MiB via API", h.cfg.fileMiB)
	for range h.cfg.rounds {
		for column, bin := range h.daemons() {
			push, pull, err := h.daemonFiles(bin, content)
			if err != nil {
				return err
			}
			h.table.add(pushName, "MB/s", column, mbPerSecond(size, push))
			h.table.add(pullName, "MB/s", column, mbPerSecond(size, pull))
		}
		push, pull, err := h.floorFiles(content)
		if err != nil {
			return err
		}
		h.table.add(pushName, "MB/s", floor, mbPerSecond(size, push))
		h.table.add(pullName, "MB/s", floor, mbPerSecond(size, pull))
	}
	return nil
}

func mbPerSecond(size int, d time.Duration) float64 {
	return float64(size) / 1e6 / d.Seconds()
}

func (h *harness) daemonFiles(bin string, content []byte) (push, pull time.Duration, err error) {
	s, err := h.startDaemon(bin, servicesLayer(0, ""))
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if stopErr := s.stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("cannot stop %s: %w", bin, stopErr)
		}
	}()
	c, err := client.New(&client.Config{Socket: s.socket})
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(s.dir, "blob")
	start := time.Now()
	if err := c.Push(ctx, &client.PushOptions{Source: bytes.NewReader(content), Path: path}); err != nil {
		return 0, 0, fmt.Errorf("%s: push %d bytes: %w", bin, len(content), err)
	}
	push = time.Since(start)
	var got countingWriter
	start = time.Now()
	if err := c.Pull(ctx, &client.PullOptions{Path: path, Target: &got}); err != nil {
		return 0, 0, fmt.Errorf("%s: pull %d bytes: %w", bin, len(content), err)
	}
	pull = time.Since(start)
	if int(got) != len(content) {
		return 0, 0, fmt.Errorf("%s: pulled %d bytes, pushed %d", bin, got, len(content))
	}
	return push, pull, nil
}

func (h *harness) floorFiles(content []byte) (push, pull time.Duration, err error) {
	s, err := startFloor(h.targets.self, h.work, nil)
	if err != nil {
		return 0, 0, err
	}
	defer s.stop()
	start := time.Now()
	resp, err := s.http.Post("http://localhost/blob", "application/octet-stream", bytes.NewReader(content))
	if err != nil {
		return 0, 0, fmt.Errorf("floor: push: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("floor: push: %s", resp.Status)
	}
	push = time.Since(start)
	start = time.Now()
	resp, err = s.http.Get("http://localhost/blob")
	if err != nil {
		return 0, 0, fmt.Errorf("floor: pull: %w", err)
	}
	var got countingWriter
	_, err = io.Copy(&got, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("floor: pull: %w", err)
	}
	pull = time.Since(start)
	if int(got) != len(content) {
		return 0, 0, fmt.Errorf("floor: pulled %d bytes, pushed %d", got, len(content))
	}
	return push, pull, nil
}

// countingWriter counts and drops what it is given.
type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// serveBlob is the floor server's /blob: a POST writes the body to path, a
// GET reads it back.
func serveBlob(w http.ResponseWriter, r *http.Request, path string) {
	switch r.Method {
	case http.MethodPost:
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, r.Body)
			if closeErr := f.Close(); err == nil {
				err = closeErr
			}
		}
		if err != nil {
			http.Error(w, "cannot write the blob: "+err.Error(), http.StatusInternalServerError)
		}
	case http.MethodGet:
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, "cannot read the blob: "+err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, f)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
