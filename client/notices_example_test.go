package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/pebble-project/pebble/client"
)

// noticesDaemon stands in for "pebble run" in the notice and identity
// examples.
func noticesDaemon() (socket string, stop func()) {
	d, err := startFakeDaemon(map[string]reply{
		"GET /v1/notices": {200, `{"type":"sync","status-code":200,"status":"OK","result":[` +
			`{"id":"7","user-id":null,"type":"change-update","key":"42","first-occurred":"2026-01-20T10:00:00Z",` +
			`"last-occurred":"2026-01-20T10:00:01Z","last-repeated":"2026-01-20T10:00:01Z","occurrences":2,` +
			`"last-data":{"kind":"restart"},"expire-after":"168h0m0s"}]}`},
		"POST /v1/notices": {200, `{"type":"sync","status-code":200,"status":"OK","result":{"id":"8"}}`},
		"GET /v1/identities": {200, `{"type":"sync","status-code":200,"status":"OK","result":` +
			`{"bob":{"access":"admin","local":{"user-id":42}},"alice":{"access":"metrics","basic":{"password":"*****"}}}}`},
		"POST /v1/identities": {200, `{"type":"sync","status-code":200,"status":"OK"}`},
	})
	if err != nil {
		log.Fatal(err)
	}
	return d.Socket, d.Close
}

// Wait for changes to happen, the way a charm learns that a service was
// restarted: long-poll for change-update notices newer than the last seen.
func ExampleClient_WaitNotices() {
	socket, stop := noticesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	var after time.Time // the last-repeated time of the newest notice seen
	notices, err := c.WaitNotices(context.Background(), 30*time.Second, &client.NoticesOptions{
		Types: []client.NoticeType{client.ChangeUpdateNotice},
		After: after,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range notices {
		fmt.Printf("change %s (%s), occurrence %d\n", n.Key, n.LastData["kind"], n.Occurrences)
		after = n.LastRepeated
	}
	// Output: change 42 (restart), occurrence 2
}

// Record a custom notice.
func ExampleClient_Notify() {
	socket, stop := noticesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	id, err := c.Notify(context.Background(), &client.NotifyOptions{
		Type: client.CustomNotice,
		Key:  "example.com/db/backup-done",
		Data: map[string]string{"path": "/backups/1.tar"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("recorded notice", id)
	// Output: recorded notice 8
}

// Give a Prometheus server access to the metrics with a basic identity.
// The password is stored as a sha512-crypt hash (openssl passwd -6).
func ExampleClient_AddIdentities() {
	socket, stop := noticesDaemon()
	defer stop()
	c, _ := client.New(&client.Config{Socket: socket})

	err := c.AddIdentities(context.Background(), map[string]*client.Identity{
		"prometheus": {
			Access: client.MetricsAccess,
			Basic:  &client.BasicIdentity{Password: "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := c.Identities(context.Background(), nil)
	fmt.Println(ids["alice"].Access, ids["alice"].Basic.Password, *ids["bob"].Local.UserID)
	// Output: metrics ***** 42
}
