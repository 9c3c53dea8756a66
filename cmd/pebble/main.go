// Command pebble is the service manager daemon (pebble run) and the client of
// its API.
package main

import (
	"context"
	"os"

	"github.com/pebble-project/pebble/internal/cli"
)

func main() {
	stopProfiles := startProfiles()
	code := cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stopProfiles()
	os.Exit(code)
}
