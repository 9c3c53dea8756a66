package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInputLeavesPlanAndServicesAlone: rejected layers and malformed
// requests get clear errors, and neither the plan nor the running service
// changes.
func TestBadInputLeavesPlanAndServicesAlone(t *testing.T) {
	dir := newPebbleDir(t, nil)
	writeScript(t, dir, "svc.sh", longRunning)
	writeLayers(t, dir, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: /bin/sh @DIR@/svc.sh
        startup: enabled
`})
	d := startDaemon(t, dir, daemonOptions{})
	require.Equal(t, "Done", d.waitAutostart().Status)
	pid := readPID(t, filepath.Join(dir, "svc.pid"))
	plan := d.mustPebble("plan")
	require.Contains(t, plan, "svc:")

	unchanged := func(t *testing.T) {
		t.Helper()
		d := d.withT(t)
		assert.Equal(t, plan, d.mustPebble("plan"), "plan changed")
		assert.True(t, pidAlive(pid), "service process %d is gone", pid)
		assert.Equal(t, []string{strconv.Itoa(pid)}, readLines(filepath.Join(dir, "svc.pid")), "service was restarted")
		assert.Equal(t, "active", d.serviceStatus("svc"))
	}

	layers := []struct {
		name  string
		label string
		layer string
		want  []string // substrings of the CLI's stderr
	}{{
		name:  "invalid YAML",
		label: "broken",
		layer: "services:\n    svc: [unclosed\n",
		want:  []string{"error: cannot parse layer YAML: ", `"broken"`},
	}, {
		name:  "unknown field",
		label: "unknown-field",
		layer: "services:\n    svc:\n        override: merge\n        bogus-field: 1\n",
		want:  []string{`cannot parse layer "unknown-field" section "services"`, "bogus-field"},
	}, {
		name:  "bad duration",
		label: "bad-duration",
		layer: "services:\n    svc:\n        override: merge\n        kill-delay: 5\n",
		want:  []string{`"bad-duration"`, `invalid duration "5"`},
	}, {
		name:  "requires unknown service",
		label: "bad-requires",
		layer: "services:\n    svc:\n        override: merge\n        requires: [nope]\n",
		want:  []string{`error: service "nope" does not exist`},
	}, {
		name:  "before/after cycle",
		label: "cycle",
		layer: "services:\n    x:\n        override: replace\n        command: sleep 1\n        after: [y]\n    y:\n        override: replace\n        command: sleep 1\n        after: [x]\n",
		want:  []string{"error: services in before/after loop: x, y"},
	}, {
		name:  "missing override",
		label: "no-override",
		layer: "services:\n    svc:\n        command: sleep 1\n",
		want:  []string{`layer "no-override" must define "override" for service "svc"`},
	}}
	for _, tt := range layers {
		t.Run("pebble add "+tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.label+".yaml")
			writeFile(t, path, tt.layer)
			d := d.withT(t)
			res := d.pebble("add", tt.label, path)
			assert.Equal(t, 1, res.code, "exit code; stderr %q", res.stderr)
			assert.Empty(t, res.stdout)
			// The CLI wraps long errors at the terminal width (cli.md §1.2).
			stderr := strings.Join(strings.Fields(res.stderr), " ")
			for _, want := range tt.want {
				assert.Contains(t, stderr, want)
			}
			// Adding with --combine onto the existing label is rejected too.
			res = d.pebble("add", "--combine", "base", path)
			assert.Equal(t, 1, res.code, "exit code with --combine; stderr %q", res.stderr)
			unchanged(t)
		})
	}

	requests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		wantStatus int
		wantMsg    string // exact message, or prefix when it ends in ": "
	}{{
		name:       "10 MiB layer",
		method:     "POST",
		path:       "/v1/layers",
		body:       hugeLayerRequest(10 << 20),
		wantStatus: 413,
	}, {
		name:       "malformed JSON to services",
		method:     "POST",
		path:       "/v1/services",
		body:       []byte(`{"action": "start", "services": [`),
		wantStatus: 400,
		wantMsg:    "cannot decode data from request body: ",
	}, {
		name:       "malformed JSON to layers",
		method:     "POST",
		path:       "/v1/layers",
		body:       []byte(`{"action": `),
		wantStatus: 400,
		wantMsg:    "cannot decode request body: ",
	}, {
		name:       "unknown endpoint",
		method:     "GET",
		path:       "/v1/nope",
		wantStatus: 404,
		wantMsg:    "invalid API endpoint requested",
	}, {
		name:       "no warnings endpoint",
		method:     "GET",
		path:       "/v1/warnings",
		wantStatus: 404,
		wantMsg:    "invalid API endpoint requested",
	}, {
		name:       "DELETE services",
		method:     "DELETE",
		path:       "/v1/services",
		wantStatus: 405,
		wantMsg:    `method "DELETE" not allowed`,
	}, {
		name:       "PUT services",
		method:     "PUT",
		path:       "/v1/services",
		body:       []byte(`{"action":"stop","services":["svc"]}`),
		wantStatus: 405,
		wantMsg:    `method "PUT" not allowed`,
	}, {
		name:       "POST plan",
		method:     "POST",
		path:       "/v1/plan",
		wantStatus: 405,
		wantMsg:    `method "POST" not allowed`,
	}, {
		name:       "invalid action",
		method:     "POST",
		path:       "/v1/services",
		body:       []byte(`{"action":"bogus","services":["svc"]}`),
		wantStatus: 400,
		wantMsg:    `invalid action "bogus"`,
	}, {
		name:       "unknown service",
		method:     "POST",
		path:       "/v1/services",
		body:       []byte(`{"action":"stop","services":["svc","nope"]}`),
		wantStatus: 400,
		wantMsg:    `cannot stop services: service "nope" does not exist`,
	}}
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := d.withT(t).rawRequest(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, "error", env.Type)
			assert.Equal(t, tt.wantStatus, env.StatusCode)
			msg := apiErrorOf(env).Message
			switch {
			case tt.wantMsg == "":
				assert.NotEmpty(t, msg, "error envelope without a message: %s", env.Result)
			case strings.HasSuffix(tt.wantMsg, ": "):
				assert.True(t, strings.HasPrefix(msg, tt.wantMsg) && len(msg) > len(tt.wantMsg), "message %q, want %q followed by the decoder's error", msg, tt.wantMsg)
			default:
				assert.Equal(t, tt.wantMsg, msg)
			}
			unchanged(t)
		})
	}
	d.stop()
}

// hugeLayerRequest is a valid POST /v1/layers body of about size bytes.
func hugeLayerRequest(size int) []byte {
	layer := "summary: " + strings.Repeat("x", size) + "\n"
	data, _ := json.Marshal(map[string]any{"action": "add", "label": "huge", "format": "yaml", "layer": layer})
	return data
}

// TestBadLayerFilesOnDisk: the daemon refuses to start on a bad layers
// directory (layers.md §1.1).
func TestBadLayerFilesOnDisk(t *testing.T) {
	const good = "services:\n    svc:\n        override: replace\n        command: sleep 1000\n"
	tests := []struct {
		name   string
		layers map[string]string
		want   string // after "cannot run daemon: cannot load plan: "
	}{{
		name:   "label too short",
		layers: map[string]string{"001-a.yaml": good},
		want:   `invalid layer filename: "001-a.yaml" (must look like "123-some-label.yaml")`,
	}, {
		name:   "uppercase label",
		layers: map[string]string{"001-Base.yaml": good},
		want:   `invalid layer filename: "001-Base.yaml" (must look like "123-some-label.yaml")`,
	}, {
		name:   "two-digit order",
		layers: map[string]string{"01-base.yaml": good},
		want:   `invalid layer filename: "01-base.yaml" (must look like "123-some-label.yaml")`,
	}, {
		name:   "duplicate order",
		layers: map[string]string{"001-base.yaml": good, "001-more.yaml": good},
		want:   `invalid layer filename: "001-more.yaml" not unique (have "001-base.yaml" already)`,
	}, {
		name:   "bad sub-directory name",
		layers: map[string]string{"002-X.d/001-aaa.yaml": good},
		want:   `invalid layer sub-directory name: "002-X.d" (must look like "123-some-label.d")`,
	}, {
		name:   "nested sub-directory",
		layers: map[string]string{"002-sub.d/003-deep.d/001-aaa.yaml": good},
		want:   `cannot have a layers sub-directory at this level`,
	}, {
		name:   "invalid YAML",
		layers: map[string]string{"001-base.yaml": "services: [\n"},
		want:   `cannot parse layer "base"`,
	}, {
		name:   "missing command",
		layers: map[string]string{"001-base.yaml": "services:\n    svc:\n        override: replace\n"},
		want:   `plan must define "command" for service "svc"`,
	}, {
		name:   "requires unknown",
		layers: map[string]string{"001-base.yaml": good + "        requires: [nope]\n"},
		want:   `service "nope" does not exist`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newPebbleDir(t, tt.layers)
			d := startDaemon(t, dir, daemonOptions{noWait: true})
			code := d.waitExit(readyTimeout)
			assert.Equal(t, 1, code)
			stderr := d.stderr.String()
			assert.Contains(t, stderr, "cannot run daemon: cannot load plan: "+tt.want)
			assert.NotContains(t, stderr, "error: cannot run daemon")
			_, err := os.Stat(d.socket)
			assert.True(t, os.IsNotExist(err), "socket left behind")
			requireNoProcesses(t, dir)
		})
	}

	t.Run("non-layer files are ignored", func(t *testing.T) {
		dir := newPebbleDir(t, map[string]string{"001-base.yaml": good, "README": "x", "001-base.yaml.swp": "x"})
		d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
		out := d.mustPebble("plan")
		assert.Equal(t, "services:\n    svc:\n        override: replace\n        command: sleep 1000\n", out)
		d.stop()
	})

}
