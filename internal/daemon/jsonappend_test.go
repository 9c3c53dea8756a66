package daemon

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/limits"
	"github.com/pebble-project/pebble/internal/plan"
	"github.com/pebble-project/pebble/internal/servstate"
)

// TestAppendJSONMatchesEncodingJSON: the appended encodings of envelopes
// and of GET /v1/services entries are byte for byte encoding/json's, for
// every field set and unset and for strings that need escaping.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	code0, code3 := 0, 3
	since := time.Date(2026, 1, 20, 1, 18, 26, 921000000, time.UTC)
	zoned := time.Date(2026, 1, 20, 1, 18, 26, 123456789, time.FixedZone("X", -(5*3600+30*60)))
	whole := time.Date(2026, 1, 20, 1, 18, 26, 0, time.Local)
	tricky := []string{"", "svc", `quote " and \ back`, "<b>&amp;</b>", "tab\tnew\nline\x01", "caf\u00e9 \u2028 \u2029", "bad \xff utf-8", "emoji \U0001F600"}
	var entries []serviceJSON
	for i, s := range tricky {
		entries = append(entries, serviceJSON{Name: s, Startup: "enabled", Current: s, StatusText: s, Readiness: s, ExitReason: s, Schedule: s,
			serviceExitJSON: serviceExitJSON{LastExitSignal: s, Failure: s, RestartCount: i}})
	}
	entries = append(entries,
		serviceJSON{Name: "all", Startup: "disabled", Current: "active", CurrentSince: &since,
			Stats:    &serviceStatsJSON{usageJSON: usageJSON{CPUSeconds: 1.5e-7, MemoryBytes: math.MaxUint64, Processes: 3}, ChargeGroup: "g<", GroupTotals: &groupTotalsJSON{}},
			Schedule: "@every 1m", NextRun: &zoned, SkippedRuns: -2,
			LimitsNotEnforced: []limits.NotEnforced{{Limit: "memory", Reason: "no cgroup & no <v2>"}},
			Oneshot:           &oneshotJSON{ExitCode: 1, Exited: whole, Output: "out\n"},
			serviceExitJSON:   serviceExitJSON{RestartCount: 7, LastExitCode: &code3, LastExitTime: &whole}},
		serviceJSON{Name: "exit-zero", serviceExitJSON: serviceExitJSON{LastExitCode: &code0}},
		serviceJSON{Name: "empty-limits", LimitsNotEnforced: []limits.NotEnforced{}},
	)
	for i := range entries {
		assertSameJSON(t, &entries[i])
	}

	// A whole result, as getServices makes it.
	exit := &servstate.ExitInfo{Code: 2, Time: whole}
	infos := []servstate.ServiceInfo{{Name: "a", Startup: "enabled", Current: "active", CurrentSince: since},
		{Name: "b<>", Startup: "disabled", Current: "inactive", Restarts: 3, LastExit: exit, Failure: "exited"},
		{Name: "c", Oneshot: &servstate.OneshotResult{ExitCode: 1, Exited: whole, Output: "x"}}}
	sr := servicesResult{a: &api{}, infos: infos, plan: &plan.Plan{}}
	var want []serviceJSON
	for i := range infos {
		var s serviceJSON
		sr.fill(&s, &infos[i])
		want = append(want, s)
	}
	assert.Equal(t, 3, len(want))
	assertSameAs(t, sr, want)
	assertSameAs(t, servicesResult{}, []serviceJSON{})

	var nilSlice []string
	for _, result := range []any{nil, nilSlice, entries, map[string]bool{"healthy": true}, "<plan>", true, errorResult{Message: "a & b", Kind: "k"}} {
		for _, warning := range []*time.Time{nil, &zoned} {
			assertSameJSON(t, envelope{Type: "sync", StatusCode: 200, Status: "OK", Result: result, LatestWarning: warning})
			assertSameJSON(t, envelope{Type: "error", StatusCode: 404, Status: "Not Found", Change: "12", Result: result})
			assertSameJSON(t, asyncEnvelope{Type: "async", StatusCode: 202, Status: "Accepted", Change: "3", Result: result, LatestWarning: warning})
		}
	}
}

func assertSameJSON(t *testing.T, v jsonAppender) {
	t.Helper()
	assertSameAs(t, v, v)
}

// assertSameAs asserts that v appends what encoding/json gives for like.
func assertSameAs(t *testing.T, v jsonAppender, like any) {
	t.Helper()
	want, err := json.Marshal(like)
	require.NoError(t, err)
	got, err := v.appendJSON([]byte("prefix"))
	require.NoError(t, err)
	assert.Equal(t, "prefix"+string(want), string(got))
}

// TestTimeText: the cached text of a time is what encoding/json writes,
// for the time encoded first and for an equal one later.
func TestTimeText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.Local, time.FixedZone("A", 5*3600+45*60), time.FixedZone("seconds", 3600+7)}
	var times []time.Time
	for range maxTimeTexts + 10 {
		times = append(times, time.Unix(rng.Int64N(400<<30)-(100<<30), rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]))
	}
	times = append(times, time.Now(), time.Now().Round(0))
	for range 2 {
		for _, at := range times {
			want, wantErr := json.Marshal(at)
			got, err := timeText(at)
			if wantErr != nil {
				assert.Error(t, err, "%v", at)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "%v", at)
		}
	}
	assert.LessOrEqual(t, int(timeTexts.n.Load()), maxTimeTexts)
}

// TestAppendJSONTimeError: a time encoding/json refuses is refused too,
// and the response says so instead of sending broken JSON.
func TestAppendJSONTimeError(t *testing.T) {
	bad := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, want := json.Marshal(serviceJSON{CurrentSince: &bad})
	require.Error(t, want)
	s := serviceJSON{Name: "svc", CurrentSince: &bad}
	_, err := s.appendJSON(nil)
	assert.Error(t, err)

	w := httptest.NewRecorder()
	syncResponse(servicesResult{a: &api{}, infos: []servstate.ServiceInfo{{Name: "svc", CurrentSince: bad}}}).write(w, nil)
	assert.Equal(t, 500, w.Code)
	var env struct{ Result errorResult }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &env))
	assert.Contains(t, env.Result.Message, "cannot marshal response: ")
}
