package system

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/handover"
)

// TestCheckHandoverReadsEveryPart: the check run of an upgrade reads every
// part of the document, so a part the new binary cannot read stops the
// upgrade before the old daemon gives anything up.
func TestCheckHandoverReadsEveryPart(t *testing.T) {
	good := map[string]string{
		"system":   `{"lock-fd": -1, "change": "1"}`,
		"daemon":   `{"listeners": [{"fd": -1, "network": "unix", "address": "/run/pebble.socket"}]}`,
		"plan":     `[{"order": 1, "label": "base", "yaml": "services:\n    svc:\n        override: replace\n        command: sleep 10\n"}, {"order": 2, "label": "pebble-service-args", "yaml": "services:\n    svc:\n        override: merge\n        command: sleep [ 20 ]\n"}]`,
		"checks":   `[{"name": "up", "successes": 1, "failures": 0, "kind": "perform-check", "change": "2"}]`,
		"services": `[{"name": "svc", "state": "starting", "run": 1, "start-count": 1, "start": {}, "timers": {"0": "2026-12-02T10:00:00Z"}}]`,
	}
	doc := func(parts map[string]string) *handover.Document {
		d := handover.New("v")
		for name, raw := range parts {
			d.Parts[name] = json.RawMessage(raw)
		}
		return d
	}
	require.NoError(t, CheckHandover(doc(good)))

	for part, bad := range map[string]struct{ raw, err string }{
		"system":   {`[]`, `cannot decode hand-over part "system"`},
		"daemon":   {`{"listeners": [{"fd": 3, "network": "udp", "address": "x"}]}`, `unknown network "udp"`},
		"plan":     {`[{"order": 1, "label": "base", "yaml": "services: [1]"}]`, `cannot take over layer "base"`},
		"checks":   {`[{"name": "up", "kind": "sleep-check", "change": "2"}]`, `unknown run kind "sleep-check"`},
		"services": {`[{"name": "svc", "state": "dozing"}]`, `cannot take over service "svc": unknown state "dozing"`},
	} {
		parts := make(map[string]string)
		for k, v := range good {
			parts[k] = v
		}
		parts[part] = bad.raw
		assert.ErrorContains(t, CheckHandover(doc(parts)), bad.err, "part %s", part)
	}
}
