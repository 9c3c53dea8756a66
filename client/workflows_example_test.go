package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pebble-project/pebble/client"
)

// workflowsDaemon starts a fake daemon that answers the workflows
// endpoint as ours does (docs/workflows.md); tests/workflow_test.go drives
// the same methods against the real daemon.
func workflowsDaemon() (socket string, stop func()) {
	d, err := startFakeDaemon(map[string]reply{
		"GET /v1/workflows": {200, `{"type":"sync","status-code":200,"status":"OK","result":[` +
			`{"name":"upgrade","summary":"Upgrade the app","phases":[` +
			`{"name":"drain","strategy":"parallel","steps":["stop: web","stop: worker"]},` +
			`{"name":"migrate","strategy":"serial","steps":["run: migrate"]}],` +
			`"last-run":{"change-id":"12","status":"Done","spawn-time":"2026-12-02T06:50:01Z","ready-time":"2026-12-02T06:50:09Z"}}]}`},
		"POST /v1/workflows": {202, `{"type":"async","status-code":202,"status":"Accepted","change":"13","result":null}`},
	})
	if err != nil {
		log.Fatal(err)
	}
	return d.Socket, d.Close
}

// List the workflows of the plan with their last run.
func ExampleClient_Workflows() {
	socket, stop := workflowsDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	workflows, err := c.Workflows(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range workflows {
		fmt.Printf("%s: %d phases, last run %s %s\n", w.Name, len(w.Phases), w.LastRun.ChangeID, w.LastRun.Status)
	}
	// Output:
	// upgrade: 2 phases, last run 12 Done
}

// Run a workflow with a parameter; wait for it with WaitChange.
func ExampleClient_RunWorkflow() {
	socket, stop := workflowsDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	id, err := c.RunWorkflow(context.Background(), &client.RunWorkflowOptions{
		Name:   "upgrade",
		Params: map[string]string{"VERSION": "2"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("change", id)
	// Output:
	// change 13
}
