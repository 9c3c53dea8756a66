package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const servicesExitsJSON = `[
{"name":"crash","startup":"enabled","current":"error","current-since":"2026-01-20T15:04:05Z","restart-count":5,"last-exit-code":3,"last-exit-time":"2026-01-20T15:04:05Z","failure":"restart limit reached: 5 restarts within 1m0s"},
{"name":"killed","startup":"disabled","current":"backoff","current-since":"2026-01-20T15:04:05Z","restart-count":1,"last-exit-signal":"SIGKILL","last-exit-time":"2026-01-20T15:00:00Z"},
{"name":"new","startup":"disabled","current":"inactive"}]`

// TestServicesExits: --exits adds the restart count, last exit and failure
// columns; without it the output keeps Pebble's four columns.
func TestServicesExits(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/services": syncReply(servicesExitsJSON)})

	assert.Equal(t, result{stdout: "" +
		"Service  Startup   Current   Since\n" +
		"crash    enabled   error     2026-01-20T15:04:05Z\n" +
		"killed   disabled  backoff   2026-01-20T15:04:05Z\n" +
		"new      disabled  inactive  -\n"}, runCLI(t, "services", "--abs-time"))

	assert.Equal(t, result{stdout: "" +
		"Service  Startup   Current   Since                 Restarts  Exit     Exited                Failure\n" +
		"crash    enabled   error     2026-01-20T15:04:05Z  5         code 3   2026-01-20T15:04:05Z  restart limit reached: 5 restarts within 1m0s\n" +
		"killed   disabled  backoff   2026-01-20T15:04:05Z  1         SIGKILL  2026-01-20T15:00:00Z  -\n" +
		"new      disabled  inactive  -                     0         -        -                     -\n"}, runCLI(t, "services", "--exits", "--abs-time"))

	r := runCLI(t, "services", "--format=json", "killed")
	assert.Contains(t, r.stdout, `"restart-count":1,"last-exit-signal":"SIGKILL","last-exit-time":"2026-01-20T15:00:00Z"`)
}
