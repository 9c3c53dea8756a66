package reliability

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const webLayer = "services:\n    web:\n        override: replace\n        command: sleep 300\n"

// TestHostileTextRefused posts layers and exec requests holding NUL bytes,
// invalid UTF-8 and "=" in environment names: each must be refused with a
// 400 naming the field, and leave the plan as it was.
func TestHostileTextRefused(t *testing.T) {
	d := run.Start(t, run.NewDir(t, nil))
	_, before := d.MustRequest("GET", "/v1/plan?format=yaml", nil)

	layers := []struct {
		name, label, layer, want string
	}{
		{"service name NUL", "l", "services:\n    \"w\\0\":\n        override: replace\n        command: x\n", `service name "w\x00" contains a NUL byte`},
		{"label NUL", "l\x00", webLayer, `layer label "l\x00": it contains a NUL byte`},
		{"command NUL", "l", "services:\n    web:\n        override: replace\n        command: \"sleep\\0 1\"\n", `service "web" field "command" contains a NUL byte`},
		{"environment key NUL", "l", webLayer + "        environment: {\"A\\0\": b}\n", `service "web" field "environment" key "A\x00" contains a NUL byte`},
		{"environment key =", "l", webLayer + "        environment: {\"A=B\": c}\n", `service "web" field "environment" key "A=B" contains "="`},
		{"environment value NUL", "l", webLayer + "        environment: {A: \"b\\0\"}\n", `service "web" field "environment" contains a NUL byte`},
	}
	refused := 0
	for _, tt := range layers {
		status, env := d.MustRequest("POST", "/v1/layers", map[string]any{"action": "add", "label": tt.label, "format": "yaml", "layer": tt.layer})
		if assert.Equal(t, 400, status, tt.name) && assert.Contains(t, env.Message(), tt.want, tt.name) {
			refused++
		}
	}
	// Invalid UTF-8 cannot be written in JSON strings, only sent as raw
	// bytes, which encoding/json would quietly replace.
	status, env := d.RawRequest("POST", "/v1/layers", []byte("{\"action\":\"add\",\"label\":\"l\xff\",\"format\":\"yaml\",\"layer\":\"\"}"))
	if assert.Equal(t, 400, status, "invalid UTF-8 label") && assert.Contains(t, env.Message(), "invalid UTF-8") {
		refused++
	}

	execs := []struct {
		name string
		req  map[string]any
		want string
	}{
		{"exec argument NUL", map[string]any{"command": []string{"echo", "a\x00b"}}, `argument 1 contains a NUL byte`},
		{"exec environment key =", map[string]any{"command": []string{"true"}, "environment": map[string]string{"A=B": "c"}}, `environment variable name "A=B" is empty or contains "="`},
		{"exec environment value NUL", map[string]any{"command": []string{"true"}, "environment": map[string]string{"A": "\x00"}}, `environment variable "A" value contains a NUL byte`},
	}
	for _, tt := range execs {
		status, env := d.MustRequest("POST", "/v1/exec", tt.req)
		if assert.Equal(t, 400, status, tt.name) && assert.Contains(t, env.Message(), tt.want, tt.name) {
			refused++
		}
	}
	_, after := d.MustRequest("GET", "/v1/plan?format=yaml", nil)
	assert.JSONEq(t, string(before.Result), string(after.Result), "the plan changed")
	_, chgs := d.MustRequest("GET", "/v1/changes?select=all", nil)
	assert.JSONEq(t, "[]", string(chgs.Result), "a refused exec made a change")
	total := len(layers) + 1 + len(execs)
	t.Logf("figure: %d of %d hostile inputs refused with 400 naming the field", refused, total)
	d.Stop()
}

// TestHostileLayerFileRefused starts a daemon on a layer file holding a
// NUL byte: it must refuse to start, naming the layer, the service and the
// field.
func TestHostileLayerFileRefused(t *testing.T) {
	dir := run.NewDir(t, map[string]string{"001-base.yaml": webLayer + "        environment: {\"A=B\": \"c\"}\n"})
	d := run.Launch(t, dir)
	code := d.WaitExit()
	t.Logf("figure: daemon on a layer file with \"=\" in an environment name exits with status %d", code)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, d.Stderr(), `cannot accept layer "base": service "web" field "environment" key "A=B" contains "="`)
}

// TestUnicodeAccepted checks that valid UTF-8 stays accepted wherever
// Pebble accepts text: labels, names, commands, environment, exec.
func TestUnicodeAccepted(t *testing.T) {
	d := run.Start(t, run.NewDir(t, nil))
	layer := "summary: \"résumé ✓\"\nservices:\n    \"wéb-🚀\":\n        override: replace\n        command: /bin/echo \"héllo\" 日本語\n        environment: {GRÜSSE: \"こんにちは=🚀\"}\n"
	status, env := d.MustRequest("POST", "/v1/layers", map[string]any{"action": "add", "label": "étiquette-✓", "format": "yaml", "layer": layer})
	require.Equal(t, 200, status, env.Message())
	_, env = d.MustRequest("GET", "/v1/plan?format=yaml", nil)
	assert.Contains(t, string(env.Result), "こんにちは=")
	assert.Contains(t, string(env.Result), "wéb-")

	status, env = d.MustRequest("POST", "/v1/exec", map[string]any{"command": []string{"/bin/echo", "héllo 🚀"}, "environment": map[string]string{"GRÜSSE": "ü"}})
	assert.Equal(t, 202, status, env.Message())
	t.Logf("figure: a layer and an exec of non-ASCII UTF-8 accepted (status %d)", status)
	d.Stop()
}

// TestAliasExpansionBounded posts a layer of 1,000 aliases to a 100 KB
// string (100 MB once expanded): it must be refused, and the daemon's plan
// and memory must stay small.
func TestAliasExpansionBounded(t *testing.T) {
	d := run.Start(t, run.NewDir(t, nil))
	var b strings.Builder
	fmt.Fprintf(&b, "summary: &big %s\nservices:\n", strings.Repeat("x", 100_000))
	for i := range 1000 {
		fmt.Fprintf(&b, "    s%d:\n        override: replace\n        command: *big\n", i)
	}
	rssBefore := d.PeakRSS()
	start := time.Now()
	status, env := d.MustRequest("POST", "/v1/layers", map[string]any{"action": "add", "label": "bomb", "format": "yaml", "layer": b.String()})
	elapsed := time.Since(start)
	assert.Equal(t, 400, status)
	assert.Contains(t, env.Message(), `cannot accept layer "bomb": it holds`)
	_, plan := d.MustRequest("GET", "/v1/plan?format=yaml", nil)
	growth := d.PeakRSS() - rssBefore
	t.Logf("figure: alias bomb (%d KB posted, 100 MB expanded) answered %d in %v; GET /v1/plan returns %d bytes; daemon peak RSS grew %d MB (%d MB peak)",
		b.Len()>>10, status, elapsed.Round(time.Millisecond), len(plan.Result), growth>>20, d.PeakRSS()>>20)
	assert.Less(t, len(plan.Result), 1<<10)
	assert.Less(t, growth, int64(64<<20), "daemon peak RSS grew more than 64 MB")
	d.Stop()
}
