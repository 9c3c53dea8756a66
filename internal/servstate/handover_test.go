package servstate

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pebble-project/pebble/internal/handover"
	"github.com/pebble-project/pebble/internal/limits"
)

// TestHandedRequests follows the start and stop requests of tasks across
// a hand-over, on one service record: a reply its task has not read goes
// over answered (and comes back if the exec does not happen), a resumed
// task claims its own request only, at once when it was answered, and a
// request still waiting gets the outcome when it comes.
func TestHandedRequests(t *testing.T) {
	f := newFixture(t, newPlan(), nil)
	s := newService(f.m, "svc")

	// Answered before the hand-over, not read: it goes over answered.
	unread := make(chan reply, 1)
	s.answer(waiter{ch: unread, task: "7", start: true}, reply{err: errors.New("exited quickly")})
	read := make(chan reply, 1)
	s.answer(waiter{ch: read, task: "8"}, reply{note: "stopped"})
	<-read
	var h handedService
	taken := s.takeUnread(&h)
	assert.Equal(t, []handedRequest{{Task: "7", Answered: true, Err: "exited quickly"}}, h.Starts)
	assert.Empty(t, h.Stops, "a reply read is not handed over")
	assert.Empty(t, unread)
	putBack(taken)
	require.Len(t, unread, 1, "the exec did not happen: the reply is back")
	assert.EqualError(t, (<-unread).err, "exited quickly")

	// In the new daemon: held requests, claimed by their own tasks.
	s.heldStarts = []*heldRequest{h.Starts[0].held()}
	s.heldStops = []*heldRequest{handedRequest{Task: "9"}.held()}
	claimFor := func(kind eventKind, task string) (chan reply, bool) {
		c := command{kind: kind, task: task, resumed: true, reply: make(chan reply, 1)}
		s.cur, s.curDone = &c, false
		defer func() { s.cur = nil }()
		return c.reply, s.claim(c)
	}
	_, ok := claimFor(evStart, "10")
	assert.False(t, ok, "another task's start is handled afresh")
	_, ok = claimFor(evStart, "")
	assert.False(t, ok, "a start of no task is handled afresh")
	got, ok := claimFor(evStart, "7")
	require.True(t, ok)
	require.Len(t, got, 1, "an answered request is answered at once")
	assert.EqualError(t, (<-got).err, "exited quickly")
	assert.Empty(t, s.heldStarts)

	// Answered after the hand-over, before its task came back.
	s.answerHeld(false, reply{note: "Service \"svc\" stopped."})
	got, ok = claimFor(evStop, "9")
	require.True(t, ok)
	assert.Equal(t, "Service \"svc\" stopped.", (<-got).note)

	// Claimed while still waiting: the waiter gets the outcome later.
	s.heldStops = []*heldRequest{handedRequest{Task: "11"}.held()}
	got, ok = claimFor(evStop, "11")
	require.True(t, ok)
	assert.Empty(t, got)
	require.Len(t, s.stopWaiters, 1)
	assert.Equal(t, "11", s.stopWaiters[0].task)
	starts, stops := s.handedRequests()
	assert.Empty(t, starts)
	assert.Equal(t, []handedRequest{{Task: "11"}}, stops, "a waiting request goes over again at a second upgrade")
}

// idLog is a task log with the task's ID, as changes.Task has.
type idLog struct{ id string }

func (idLog) Logf(string, ...any) {}
func (l idLog) ID() string        { return l.id }

// TestTakeOverSweep takes over a service whose start waits for the
// processes of its last run to go: the handed-over sweep deadline sends
// them SIGKILL, the start then launches the service, and the resumed task
// that asked for it gets its outcome.
func TestTakeOverSweep(t *testing.T) {
	svc, _ := helperService(t, "svc", "sleep")
	f := newFixture(t, newPlan(svc), nil)
	left := spawn("sleep", true) // the last run's process, its own group's leader
	leftPID := left.Process.Pid
	deadline := time.Now().Add(150 * time.Millisecond)

	doc := handover.New("test")
	require.NoError(t, doc.Put(handoverPart, []handedService{{
		Name: "svc", State: "starting", Residue: true, Pending: launchManual, Run: 1, StartCount: 1,
		Tree:   &handedTree{Leader: leftPID},
		Timers: map[timerKind]time.Time{timerResidueKill: deadline},
		Starts: []handedRequest{{Task: "42"}},
	}}))
	file, err := doc.Write()
	require.NoError(t, err)
	defer file.Close()
	read, err := handover.Read(file)
	require.NoError(t, err)
	a, err := Adopt(read)
	require.NoError(t, err)
	taken, err := f.m.TakeOver(a)
	require.NoError(t, err)
	assert.Equal(t, []string{"svc"}, taken)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.m.ResumeStart(ctx, "svc", idLog{"42"}, false))
	assert.False(t, time.Now().Before(deadline), "the start waited for the sweep's deadline")
	assert.False(t, processExists(leftPID), "the last run's process got SIGKILL")
	info := f.info(t, "svc")
	assert.Equal(t, StatusActive, info.Current)
	assert.Equal(t, 2, info.StartCount, "launched once, after the sweep")
}

// TestHandOverWaitsForLastOutput: a service whose last run's output is
// still being read is handed over once it is all in, and not at all if
// that takes longer than the upgrade may wait.
func TestHandOverWaitsForLastOutput(t *testing.T) {
	f := newFixture(t, newPlan(), nil)
	s := newService(f.m, "svc")
	released := make(chan struct{})
	s.released = released
	f.m.wg.Add(1)
	go s.loop()
	doc := handover.New("test")
	resume := make(chan struct{})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ans, gone := s.askHandOver(ctx, doc, resume)
	assert.False(t, gone)
	assert.ErrorContains(t, ans.err, "output of its last run is still being read: context deadline exceeded")

	go func() {
		time.Sleep(50 * time.Millisecond) // the output comes in while the hand-over waits
		close(released)
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, _ = s.askHandOver(ctx, doc, resume)
	require.NoError(t, ans.err)
	assert.Equal(t, "initial", ans.h.State)
	close(resume) // the exec did not happen: the service goes on
	r, err := s.request(ctx, command{kind: cmdSignal, sig: 0})
	require.NoError(t, err, "the service answers again")
	assert.ErrorIs(t, r.err, errNotRunning)
}

// TestAccountsRoundTrip: a service's usage accounts and limit record come
// out of a hand-over's JSON as they went in.
func TestAccountsRoundTrip(t *testing.T) {
	var usage usageBook
	m := usage.meters("svc")
	m.cgroup = meter{base: counterVec{1, 2, 3, 4, 5}, last: counterVec{6, 7, 8, 9, 10}, seen: counterSet{true, true, true, false, false}}
	m.tree = meter{base: counterVec{11}, last: counterVec{12}, seen: counterSet{true}, leader: 42}
	m.notePeak(1 << 20)
	var lb limitBook
	*lb.rec("svc") = limitRecord{notEnforced: []limits.NotEnforced{{Limit: "memory", Reason: "no controller"}},
		memoryDir: "/sys/fs/cgroup/memory/x", oomAtLaunch: 3, oomKills: 2, exitReason: ExitOOMKilled}

	data, err := json.Marshal(handedService{Name: "svc", Usage: usage.handOver("svc"), Limits: lb.handOver("svc")})
	require.NoError(t, err)
	var h handedService
	require.NoError(t, json.Unmarshal(data, &h))
	var usage2 usageBook
	var lb2 limitBook
	usage2.takeOver("svc", h.Usage)
	lb2.takeOver("svc", h.Limits)
	assert.Equal(t, usage.acct, usage2.acct)
	assert.Equal(t, lb.recs, lb2.recs)

	assert.Nil(t, usage.handOver("other"), "a service without accounts")
	assert.Nil(t, lb.handOver("other"))
	usage2.takeOver("other", nil)
	lb2.takeOver("other", nil)
	assert.NotContains(t, usage2.acct, "other")
	assert.NotContains(t, lb2.recs, "other")
}
