package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/pebble-project/pebble/client"
)

// exampleDaemon starts a fake daemon that stands in for "pebble run" in the
// examples, and returns its socket path and a function that stops it.
func exampleDaemon() (socket string, stop func()) {
	d, err := startFakeDaemon(map[string]reply{
		"GET /v1/system-info":       {200, sysInfoJSON},
		"GET /v1/services":          {200, servicesJSON},
		"POST /v1/services":         {202, asyncJSON},
		"POST /v1/layers":           {200, okTrueJSON},
		"GET /v1/changes/{id}/wait": {200, changeJSON},
		"GET /v1/health":            {502, unhealthyJSON},
		"POST /v1/signals":          {200, okTrueJSON},
		"GET /v1/plan":              {200, `{"type":"sync","status-code":200,"status":"OK","result":"{}\n"}`},
		"POST /v1/changes/{id}":     {200, changeJSON},
		"GET /v1/changes":           {200, `{"type":"sync","status-code":200,"status":"OK","result":[]}`},
		"GET /v1/changes/{id}":      errorJSON(404, "Not Found", `{"message":"cannot find change with id \"99\""}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	return d.Socket, d.Close
}

// Connect to the daemon's socket and ask for its version.
func ExampleNew() {
	socket, stop := exampleDaemon() // usually $PEBBLE/.pebble.socket
	defer stop()

	c, err := client.New(&client.Config{Socket: socket})
	if err != nil {
		log.Fatal(err)
	}
	info, err := c.SysInfo(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Version)
	// Output: v1.32.1
}

// List the services of the plan with their status.
func ExampleClient_Services() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	services, err := c.Services(context.Background(), &client.ServicesOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, svc := range services {
		fmt.Println(svc.Name, svc.Startup, svc.Current)
	}
	// Output:
	// srv1 enabled active
	// srv2 disabled inactive
}

// Start a service, then wait for the change that starts it and report how
// it ended.
func ExampleClient_Start() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})
	ctx := context.Background()

	changeID, err := c.Start(ctx, &client.ServiceOptions{Names: []string{"srv1"}})
	if err != nil {
		log.Fatal(err)
	}
	chg, err := c.WaitChange(ctx, changeID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(chg.Status)
	fmt.Println(chg.Err)
	// Output:
	// Error
	// cannot perform the following tasks:
	// - Start service "srv1" (service start attempt: exited quickly with code 1, will restart)
}

// Reload a running service without restarting it, and wait for the
// change that does it.
func ExampleClient_Reload() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})
	ctx := context.Background()

	changeID, err := c.Reload(ctx, &client.ServiceOptions{Names: []string{"srv1"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reload change", changeID)
	// Output: reload change 42
}

// Add a layer to the plan, then replan so running services match it.
func ExampleClient_AddLayer() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})
	ctx := context.Background()

	layer := []byte("services:\n  web:\n    override: replace\n    command: /bin/web\n")
	if err := c.AddLayer(ctx, &client.AddLayerOptions{Label: "web", LayerData: layer}); err != nil {
		log.Fatal(err)
	}
	changeID, err := c.Replan(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replan change", changeID)
	// Output: replan change 42
}

// Ask whether the ready (and alive) checks are up. An unhealthy answer is a
// result, not an error.
func ExampleClient_Health() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	healthy, err := c.Health(context.Background(), &client.HealthOptions{Level: client.ReadyLevel})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("healthy:", healthy)
	// Output: healthy: false
}

// Errors reported by the daemon are *client.Error values.
func ExampleError() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	_, err := c.Change(context.Background(), "99")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.Message)
	}
	// Output: 404 cannot find change with id "99"
}

// Send SIGHUP to a service's main process.
func ExampleClient_SendSignal() {
	socket, stop := exampleDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	err := c.SendSignal(context.Background(), &client.SendSignalOptions{Signal: "SIGHUP", Services: []string{"srv1"}})
	fmt.Println(err)
	// Output: <nil>
}
