// Command rawclient sends one HTTP request to the daemon and prints the
// response status, for the access tests that run it as another user.
//
//	rawclient <socket-path|http://host:port> <method> <path> <body> [<user> <password>]
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 5 && len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: rawclient <socket|url> <method> <path> <body> [<user> <password>]")
		os.Exit(2)
	}
	target, method, path, body := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	base := target
	transport := &http.Transport{}
	if !strings.HasPrefix(target, "http://") {
		base = "http://localhost"
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", target)
		}
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if len(os.Args) == 7 {
		req.SetBasicAuth(os.Args[5], os.Args[6])
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, data)
}
