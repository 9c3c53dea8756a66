package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNext(t *testing.T) {
	tests := []struct {
		schedule, from, want string
	}{
		// Every minute: the next whole minute, strictly after.
		{"* * * * *", "2026-03-10 12:00:00", "2026-03-10 12:01:00"},
		{"* * * * *", "2026-03-10 12:00:59", "2026-03-10 12:01:00"},
		{"*/15 * * * *", "2026-03-10 12:14:00", "2026-03-10 12:15:00"},
		{"*/15 * * * *", "2026-03-10 12:45:00", "2026-03-10 13:00:00"},
		{"5/20 * * * *", "2026-03-10 12:26:00", "2026-03-10 12:45:00"},
		{"0,30 9-17/4 * * *", "2026-03-10 17:30:00", "2026-03-11 09:00:00"},
		{"0,30 9-17/4 * * *", "2026-03-10 09:30:00", "2026-03-10 13:00:00"},
		// Day, month and year boundaries.
		{"0 0 * * *", "2026-12-31 23:59:00", "2027-01-01 00:00:00"},
		{"30 2 1 * *", "2026-01-31 10:00:00", "2026-02-01 02:30:00"},
		{"0 0 31 * *", "2026-04-15 00:00:00", "2026-05-31 00:00:00"},
		{"0 0 29 2 *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"},
		{"0 12 * feb,Aug *", "2026-02-28 12:00:00", "2026-08-01 12:00:00"},
		// Day of week: names, 0 and 7 for Sunday, ranges.
		{"0 8 * * mon-fri", "2026-03-13 08:00:00", "2026-03-16 08:00:00"}, // Friday → Monday
		{"0 8 * * 7", "2026-03-10 00:00:00", "2026-03-15 08:00:00"},
		{"0 8 * * 0", "2026-03-10 00:00:00", "2026-03-15 08:00:00"},
		// Both day fields restricted: either matches (the 13th, or a Friday).
		{"0 0 13 * 5", "2026-03-01 00:00:00", "2026-03-06 00:00:00"},
		{"0 0 13 * 5", "2026-03-06 00:00:00", "2026-03-13 00:00:00"},
		{"0 0 13 * 5", "2026-03-13 00:00:00", "2026-03-20 00:00:00"},
		// One day field "*" (even with a step): both must match.
		{"0 0 13 * */1", "2026-03-01 00:00:00", "2026-03-13 00:00:00"},
		{"0 0 */1 * 5", "2026-03-01 00:00:00", "2026-03-06 00:00:00"},
		// Aliases.
		{"@hourly", "2026-03-10 12:00:00", "2026-03-10 13:00:00"},
		{"@daily", "2026-03-10 12:00:00", "2026-03-11 00:00:00"},
		{"@weekly", "2026-03-10 12:00:00", "2026-03-15 00:00:00"},
		{"@monthly", "2026-03-10 12:00:00", "2026-04-01 00:00:00"},
		{"@yearly", "2026-03-10 12:00:00", "2027-01-01 00:00:00"},
		// @every: the interval after the time given.
		{"@every 2s", "2026-03-10 12:00:00", "2026-03-10 12:00:02"},
		{"@every 1h30m", "2026-03-10 12:00:00", "2026-03-10 13:30:00"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.schedule)
		require.NoError(t, err, tt.schedule)
		assert.Equal(t, at(tt.want), s.Next(at(tt.from)), "%s after %s", tt.schedule, tt.from)
		assert.Equal(t, tt.schedule, s.String())
	}
}

// TestNextInLocation: due times are wall-clock times of the location given.
func TestNextInLocation(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+1800)
	s, err := Parse("0 * * * *")
	require.NoError(t, err)
	from := time.Date(2026, 3, 10, 12, 10, 0, 0, india)
	assert.Equal(t, time.Date(2026, 3, 10, 13, 0, 0, 0, india), s.Next(from))
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"":                 `cron schedule "" has 0 fields, want 5 (minute hour day-of-month month day-of-week)`,
		"* * * *":          `cron schedule "* * * *" has 4 fields, want 5 (minute hour day-of-month month day-of-week)`,
		"60 * * * *":       `invalid minute field "60": value 60 out of range 0-59`,
		"* 24 * * *":       `invalid hour field "24": value 24 out of range 0-23`,
		"* * 0 * *":        `invalid day-of-month field "0": value 0 out of range 1-31`,
		"* * * 13 *":       `invalid month field "13": value 13 out of range 1-12`,
		"* * * * 8":        `invalid day-of-week field "8": value 8 out of range 0-7`,
		"* * * * mon-sun2": `invalid day-of-week field "mon-sun2": invalid value "sun2"`,
		"5-1 * * * *":      `invalid minute field "5-1": range "5-1" runs backwards`,
		"*/0 * * * *":      `invalid minute field "*/0": invalid step "0"`,
		"1,,2 * * * *":     `invalid minute field "1,,2": missing value`,
		"0 0 30 2 *":       `cron schedule "0 0 30 2 *" never fires`,
		"@every":           `invalid @every duration ""`,
		"@every 2x":        `invalid @every duration "2x"`,
		"@every 500ms":     `@every duration 500ms is shorter than 1s`,
		"@reboot":          `unknown schedule "@reboot" (want 5 cron fields, @every DURATION, or @hourly, @daily, @weekly, @monthly, @yearly)`,
	}
	for text, want := range tests {
		_, err := Parse(text)
		assert.EqualError(t, err, want, "%q", text)
	}
}
