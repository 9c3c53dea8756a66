package plan

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExitPolicyParseAndMerge(t *testing.T) {
	p := mustPlan(t, `
services:
    web:
        override: replace
        command: /bin/web
        restart-limit: 5
        restart-window: 60s
        on-restart-limit: shutdown
        success-exit-codes: [0, 143]
        stop-signal: SIGQUIT
        reload-signal: SIGHUP
`, `
services:
    web:
        override: merge
        restart-limit: 0
        success-exit-codes: [143, 3]
        stop-signal: SIGINT
    plain:
        override: replace
        command: /bin/plain
`)
	web := p.Services["web"]
	assert.Equal(t, ptr(0), web.RestartLimit, "a later layer's 0 replaces the limit")
	assert.Equal(t, 0, web.EffectiveRestartLimit())
	assert.Equal(t, dur(time.Minute), web.RestartWindow)
	assert.Equal(t, ActionShutdown, web.EffectiveOnRestartLimit())
	assert.Equal(t, []int{0, 143, 3}, web.SuccessExitCodes, "appended, without repeats")
	assert.Equal(t, "SIGINT", web.EffectiveStopSignal())
	assert.True(t, web.CanReload())
	assert.True(t, web.SuccessExit(3))
	assert.False(t, web.SuccessExit(1))

	plain := p.Services["plain"]
	assert.Nil(t, plain.RestartLimit)
	assert.Equal(t, 0, plain.EffectiveRestartLimit())
	assert.Equal(t, ActionIgnore, plain.EffectiveOnRestartLimit())
	assert.Equal(t, "SIGTERM", plain.EffectiveStopSignal())
	assert.False(t, plain.CanReload())
	assert.True(t, plain.SuccessExit(0))
	assert.False(t, plain.SuccessExit(143))
}

func TestExitPolicyLayerErrors(t *testing.T) {
	tests := []struct{ field, want string }{
		{"restart-limit: -1", `layer "layer-0" service "web" field "restart-limit": must be 0 (no limit) or more, not -1`},
		{"restart-limit: lots", `~service "web" field "restart-limit": expected an integer, not !!str "lots"`},
		{"restart-window: 0s", `layer "layer-0" service "web" field "restart-window": must be a positive duration, not 0s`},
		{"restart-window: -5s", `layer "layer-0" service "web" field "restart-window": must be a positive duration, not -5s`},
		{"on-restart-limit: restart", `layer "layer-0" service "web" field "on-restart-limit": invalid action "restart": must be "ignore", "shutdown", "failure-shutdown" or "success-shutdown"`},
		{"success-exit-codes: [0, 256]", `layer "layer-0" service "web" field "success-exit-codes": exit code 256 out of range 0-255`},
		{"success-exit-codes: [-1]", `layer "layer-0" service "web" field "success-exit-codes": exit code -1 out of range 0-255`},
		{"success-exit-codes: [1, x]", `~service "web" field "success-exit-codes": expected an integer, not !!str "x"`},
		{"success-exit-codes: 3", `~service "web" field "success-exit-codes": expected a list of integers, not !!int "3"`},
		{"stop-signal: TERM", `layer "layer-0" service "web" field "stop-signal": invalid signal name "TERM": must be an uppercase name such as "SIGTERM"`},
		{"stop-signal: sigterm", `~field "stop-signal": invalid signal name "sigterm"`},
		{"reload-signal: SIGNOPE", `layer "layer-0" service "web" field "reload-signal": invalid signal name "SIGNOPE": must be an uppercase name such as "SIGTERM"`},
		{"reload-command: \"x 'y\"", `~layer "layer-0" service "web" field "reload-command": `},
		{"reload-signal: SIGHUP\n        reload-command: /bin/reload", `layer "layer-0" service "web" field "reload-signal": cannot be set together with reload-command: use one reload method`},
	}
	for _, tc := range tests {
		_, err := planFrom("services:\n    web:\n        override: replace\n        command: /bin/web\n        " + tc.field + "\n")
		checkErr(t, tc.field, err, tc.want)
	}
}

func TestExitPolicyReloadConflictAcrossLayers(t *testing.T) {
	_, err := planFrom(`
services:
    web:
        override: replace
        command: /bin/web
        reload-signal: SIGHUP
`, `
services:
    web:
        override: merge
        reload-command: /bin/reload
`)
	checkErr(t, "merge", err, `plan service "web" cannot have both reload-signal (from layer "layer-0") and reload-command (from layer "layer-1"): use one reload method`)

	// A replacing layer takes the other method's place.
	p := mustPlan(t, `
services:
    web:
        override: replace
        command: /bin/web
        reload-signal: SIGHUP
`, `
services:
    web:
        override: replace
        command: /bin/web
        reload-command: /bin/reload now
`)
	require.Equal(t, "", p.Services["web"].ReloadSignal)
	require.Equal(t, "/bin/reload now", p.Services["web"].ReloadCommand)
}
