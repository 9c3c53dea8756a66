package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/pebble-project/pebble/client"
)

// checksDaemon starts a fake daemon that answers the checks endpoints.
func checksDaemon() (socket string, stop func()) {
	d, err := startFakeDaemon(map[string]reply{
		"GET /v1/checks":          {200, checksJSON},
		"POST /v1/checks":         {200, checksChangedJSON},
		"POST /v1/checks/refresh": {200, refreshJSON},
	})
	if err != nil {
		log.Fatal(err)
	}
	return d.Socket, d.Close
}

// List the checks with their status and failure counts.
func ExampleClient_Checks() {
	socket, stop := checksDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	checks, err := c.Checks(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, chk := range checks {
		fmt.Printf("%s %s %d/%d\n", chk.Name, chk.Status, chk.Failures, chk.Threshold)
	}
	// Output:
	// up up 0/1
	// online down 3/3
	// extra inactive 0/3
}

// Start a check that is disabled in the plan.
func ExampleClient_StartChecks() {
	socket, stop := checksDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	res, err := c.StartChecks(context.Background(), &client.ChecksActionOptions{Names: []string{"extra"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started:", res.Changed)
	// Output: started: [extra]
}

// Stop a check; checks that were not running are not listed.
func ExampleClient_StopChecks() {
	socket, stop := checksDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	res, err := c.StopChecks(context.Background(), &client.ChecksActionOptions{Names: []string{"extra"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stopped:", res.Changed)
	// Output: stopped: [extra]
}

// Run a check now; a failing run is reported in the result, not as an error.
func ExampleClient_RefreshCheck() {
	socket, stop := checksDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	res, err := c.RefreshCheck(context.Background(), &client.RefreshCheckOptions{Name: "online"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Info.Status, res.Info.Failures)
	fmt.Println(res.Error)
	// Output:
	// down 4
	// dial tcp 127.0.0.1:8000: connect: connection refused
}
