package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestServicesStats: --stats adds the usage columns, "-" for a figure the
// daemon left out and for a service never started, and a table of the
// charge groups below.
func TestServicesStats(t *testing.T) {
	isolate(t)
	totals := `{"services":["db","web"],"cpu-seconds":3.5,"cpu-user-seconds":3,"cpu-system-seconds":0.5,` +
		`"memory-bytes":3000000,"memory-peak-bytes":5000000,"processes":3,"open-fds":20,"starts":3,"oom-kills":0}`
	newFakeDaemon(t, map[string]handler{"GET /v1/services": syncReply(`[
{"name":"db","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05Z",
 "stats":{"cpu-seconds":2.5,"cpu-user-seconds":2,"cpu-system-seconds":0.5,"memory-bytes":2000000,"memory-peak-bytes":4000000,
  "processes":2,"open-fds":12,"io-read-bytes":4096,"io-write-bytes":1048576,"starts":1,"oom-kills":0,"charge-group":"team","group-totals":` + totals + `}},
{"name":"web","startup":"enabled","current":"active","current-since":"2026-01-20T15:04:05Z",
 "stats":{"cpu-seconds":1,"cpu-user-seconds":1,"cpu-system-seconds":0,"memory-bytes":1000000,"memory-peak-bytes":1000000,
  "processes":1,"open-fds":8,"starts":2,"oom-kills":0,"charge-group":"team","group-totals":` + totals + `}},
{"name":"idle","startup":"disabled","current":"inactive"}]`)})
	r := runCLI(t, "services", "--abs-time", "--stats")
	assert.Equal(t, result{stdout: "" +
		"Service  Startup   Current   Since                 CPU    User   System  Memory  Peak    Processes  FDs  Read    Written\n" +
		"db       enabled   active    2026-01-20T15:04:05Z  2.50s  2.00s  0.50s   2.00MB  4.00MB  2          12   4.10kB  1.05MB\n" +
		"web      enabled   active    2026-01-20T15:04:05Z  1.00s  1.00s  0.00s   1.00MB  1.00MB  1          8    -       -\n" +
		"idle     disabled  inactive  -                     -      -      -       -       -       -          -    -       -\n" +
		"\n" +
		"Group  Services  CPU    User   System  Memory  Peak    Processes  FDs  Read  Written\n" +
		"team   db,web    3.50s  3.00s  0.50s   3.00MB  5.00MB  3          20   -     -\n"}, r)
}
