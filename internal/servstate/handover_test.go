package servstate

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
