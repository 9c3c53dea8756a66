package tests

import (
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToldSurvivesSIGKILL: what a client was told — a notice's ID, an
// identity added, a change started — is on disk before the answer, so a
// daemon killed right after answering (SIGKILL, no shutdown) still has it
// when started again. The route table's durability flag does this in one
// place (internal/daemon).
func TestToldSurvivesSIGKILL(t *testing.T) {
	dir := newPebbleDir(t, map[string]string{"001-base.yaml": `
services:
    svc:
        override: replace
        command: sleep 1000
`})
	d := startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var notice struct {
		ID string `json:"id"`
	}
	d.sync("POST", "/v1/notices", strings.NewReader(`{"action":"add","type":"custom","key":"example.com/told"}`), &notice)
	require.NotEmpty(t, notice.ID)
	d.sync("POST", "/v1/identities", strings.NewReader(`{"action":"add","identities":{"dave":{"access":"read","local":{"user-id":4242}}}}`), nil)
	change := d.serviceAction("start", "svc")
	d.signal(syscall.SIGKILL)
	d.waitExit(exitTimeout)

	d = startDaemon(t, dir, daemonOptions{args: []string{"--hold"}})
	var got struct {
		Key string `json:"key"`
	}
	d.sync("GET", "/v1/notices/"+notice.ID, nil, &got)
	assert.Equal(t, "example.com/told", got.Key)
	var ids map[string]any
	d.sync("GET", "/v1/identities", nil, &ids)
	assert.Contains(t, ids, "dave")
	var chg struct {
		Kind string `json:"kind"`
	}
	d.sync("GET", "/v1/changes/"+change, nil, &chg)
	assert.Equal(t, "start", chg.Kind)
}
