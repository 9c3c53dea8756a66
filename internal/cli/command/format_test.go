package command

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestHumanTime(t *testing.T) {
	nz, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Skip("no time zone data")
	}
	now := time.Date(2026, 1, 20, 10, 0, 0, 0, nz)
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 1, 20, 0, 5, 0, 0, nz), "today at 00:05 NZDT"},
		{time.Date(2026, 1, 20, 23, 59, 0, 0, nz), "today at 23:59 NZDT"},
		{time.Date(2026, 1, 19, 23, 59, 0, 0, nz), "yesterday at 23:59 NZDT"},
		{time.Date(2026, 1, 21, 9, 5, 0, 0, nz), "tomorrow at 09:05 NZDT"},
		{time.Date(2026, 1, 17, 9, 5, 0, 0, nz), "3 days ago, at 09:05 NZDT"},
		{time.Date(2026, 1, 23, 9, 5, 0, 0, nz), "in 3 days, at 09:05 NZDT"},
		{time.Date(2025, 11, 21, 9, 5, 0, 0, nz), "60 days ago, at 09:05 NZDT"},
		{time.Date(2025, 11, 20, 9, 5, 0, 0, nz), "2025-11-20"},
		{time.Date(2026, 3, 21, 9, 5, 0, 0, nz), "in 60 days, at 09:05 NZDT"},
		{time.Date(2026, 3, 22, 9, 5, 0, 0, nz), "2026-03-22"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, FormatTime(tt.t, now, nz, false), "%v", tt.t)
	}
	// Calendar days across the end of daylight saving time (April 5th).
	assert.Equal(t, "in 3 days, at 09:05 NZST", FormatTime(time.Date(2026, 4, 6, 9, 5, 0, 0, nz), time.Date(2026, 4, 3, 10, 0, 0, 0, nz), nz, false))
	// A time given in another zone is shown in loc.
	assert.Equal(t, "today at 09:05 NZDT", FormatTime(time.Date(2026, 1, 19, 20, 5, 0, 0, time.UTC), now, nz, false))
	// Absolute times keep the zone they came with.
	assert.Equal(t, "2026-01-20T15:04:05+02:00", FormatTime(time.Date(2026, 1, 20, 15, 4, 5, 9e8, time.FixedZone("", 7200)), now, nz, true))
}

func TestFill(t *testing.T) {
	msg := "cannot perform the requested operation because the daemon answered with a long message that does not fit"
	assert.Equal(t, "cannot perform the requested operation because the daemon answered with\n"+
		"       a long message that does not fit", Fill(msg, 7, 80))
	assert.Equal(t, "short", Fill("short", 7, 80))
	// The width is capped at 100 columns.
	assert.Equal(t, Fill(msg+msg, 7, 100), Fill(msg+msg, 7, 200))
}
