package bench

import (
	"context"
	"testing"
	"time"

	"github.com/pebble-project/pebble/client"
)

// restartIterations bounds the notice benchmark: each restart waits for the
// 1 s okay delay.
const restartIterations = 20

// received is a notice with the time the long-poll returned it.
type received struct {
	n  *client.Notice
	at time.Time
}

// follow long-polls change-update notices from now on, as a charm does,
// and sends each notice returned with its receipt time until ctx ends.
func follow(ctx context.Context, c *client.Client, out chan<- received) {
	after := time.Now()
	for ctx.Err() == nil {
		ns, err := c.WaitNotices(ctx, 30*time.Second, &client.NoticesOptions{
			Types: []client.NoticeType{client.ChangeUpdateNotice}, After: after,
		})
		at := time.Now()
		if err != nil {
			return
		}
		for _, n := range ns {
			after = n.LastRepeated
			select {
			case out <- received{n, at}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// BenchmarkRestartNoticeLatency measures how fast a client waiting on
// GET /v1/notices learns that a service restarted, over a bounded number of
// restarts:
//
//   - created-ms: from sending the restart request to the long-poll
//     returning the change-update notice of the new change;
//   - done-ms: from the daemon recording the change's Done transition
//     (the notice's last-repeated time) to the long-poll returning it;
//   - floor-ms: a GET /v1/system-info round trip on the same socket.
//
// Each is reported as p50 and p99.
func BenchmarkRestartNoticeLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, "services:\n  svc:\n    override: replace\n    command: sleep 1000\n")
		ctx, cancel := context.WithCancel(context.Background())
		id, err := d.client.Start(ctx, &client.ServiceOptions{Names: []string{"svc"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.client.WaitChange(ctx, id, nil); err != nil {
			b.Fatal(err)
		}

		notices := make(chan received, 64)
		go follow(ctx, d.client, notices)
		var created, done, floor []time.Duration
		for j := 0; j < restartIterations; j++ {
			start := time.Now()
			if _, err := d.client.SysInfo(ctx); err != nil {
				b.Fatal(err)
			}
			floor = append(floor, time.Since(start))

			sent := time.Now()
			id, err := d.client.Restart(ctx, &client.ServiceOptions{Names: []string{"svc"}})
			if err != nil {
				b.Fatal(err)
			}
			for gotDone := false; !gotDone; {
				select {
				case r := <-notices:
					if r.n.Key != id {
						continue
					}
					switch r.n.Occurrences {
					case 1:
						created = append(created, r.at.Sub(sent))
					case 2:
						done = append(done, r.at.Sub(r.n.LastRepeated))
						gotDone = true
					}
				case <-time.After(30 * time.Second):
					b.Fatalf("no Done notice for change %s", id)
				}
			}
		}
		cancel()
		d.stop(b)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(percentile(created, 50)), "created-p50-ms")
		b.ReportMetric(ms(percentile(created, 99)), "created-p99-ms")
		b.ReportMetric(ms(percentile(done, 50)), "done-p50-ms")
		b.ReportMetric(ms(percentile(done, 99)), "done-p99-ms")
		b.ReportMetric(ms(percentile(floor, 50)), "floor-p50-ms")
		b.ReportMetric(float64(len(done)), "restarts")
	}
}
