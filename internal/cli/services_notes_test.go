package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestServicesNotes(t *testing.T) {
	isolate(t)
	newFakeDaemon(t, map[string]handler{"GET /v1/services": syncReply(`[
{"name":"db","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05Z","readiness":"ready","status-text":"accepting connections"},
{"name":"migrate","startup":"enabled","current":"inactive","current-since":"2026-01-20T15:04:05Z","oneshot":{"exit-code":0,"exited":"2026-01-20T15:04:05Z","output":"done\n"}},
{"name":"web","startup":"enabled","current":"inactive"}]`)})
	r := runCLI(t, "services", "--abs-time")
	assert.Equal(t, result{stdout: "" +
		"Service  Startup  Current   Since                 Notes\n" +
		"db       enabled  active    2026-01-20T15:04:05Z  ready, \"accepting connections\"\n" +
		"migrate  enabled  inactive  2026-01-20T15:04:05Z  exited 0 2026-01-20T15:04:05Z\n" +
		"web      enabled  inactive  -                     -\n"}, r)
}
