// Package schedule parses the schedule: field of a service
// (docs/schedules.md) and computes its due times. It is pure: no clock, no
// timers; the scheduler package owns those.
//
// Two forms are accepted:
//
//   - standard 5-field cron, "minute hour day-of-month month day-of-week",
//     each field a comma-separated list of "*", "N" or "N-M", each
//     optionally followed by "/STEP" ("N/STEP" runs from N to the field's
//     end); months may be named jan-dec and weekdays sun-sat (0 and 7 are
//     Sunday). When both day fields are restricted (neither starts with
//     "*"), a day matches if either does, as cron has it. The aliases
//     @hourly, @daily (@midnight), @weekly, @monthly and @yearly
//     (@annually) stand for their cron lines.
//   - "@every DURATION", a Go duration of at least one second: due every
//     DURATION after the previous due time.
//
// Times are computed in the location of the time given to Next (the
// daemon's time zone).
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed schedule.
type Schedule struct {
	text  string
	every time.Duration // @every; 0 for cron

	minute, hour, dom, month, dow uint64 // bit N set: value N matches
	domStar, dowStar              bool   // the day field starts with "*"
}

// MinEvery is the shortest @every interval.
const MinEvery = time.Second

// searchYears bounds the search for a cron line's next due time; a line
// that matches no day in this long (such as February 30) never fires.
const searchYears = 8

var aliases = map[string]string{
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
}

// field describes one cron field: its range and names.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var (
	minuteField = field{name: "minute", min: 0, max: 59}
	hourField   = field{name: "hour", min: 0, max: 23}
	domField    = field{name: "day-of-month", min: 1, max: 31}
	monthField  = field{name: "month", min: 1, max: 12,
		names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}}
	dowField = field{name: "day-of-week", min: 0, max: 7,
		names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}
)

// Parse parses a schedule. Its errors name the part that is wrong.
func Parse(text string) (*Schedule, error) {
	s := &Schedule{text: text}
	trimmed := strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(trimmed, "@every"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("invalid @every duration %q", strings.TrimSpace(rest))
		}
		if d < MinEvery {
			return nil, fmt.Errorf("@every duration %s is shorter than %s", d, MinEvery)
		}
		s.every = d
		return s, nil
	}
	if strings.HasPrefix(trimmed, "@") {
		line, ok := aliases[trimmed]
		if !ok {
			return nil, fmt.Errorf("unknown schedule %q (want 5 cron fields, @every DURATION, or @hourly, @daily, @weekly, @monthly, @yearly)", trimmed)
		}
		trimmed = line
	}
	parts := strings.Fields(trimmed)
	if len(parts) != 5 {
		return nil, fmt.Errorf("cron schedule %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", trimmed, len(parts))
	}
	var err error
	for i, f := range []struct {
		bits *uint64
		desc field
	}{{&s.minute, minuteField}, {&s.hour, hourField}, {&s.dom, domField}, {&s.month, monthField}, {&s.dow, dowField}} {
		if *f.bits, err = parseField(parts[i], f.desc); err != nil {
			return nil, err
		}
	}
	if s.dow&(1<<7) != 0 { // 7 is Sunday too
		s.dow |= 1
	}
	s.domStar = strings.HasPrefix(parts[2], "*")
	s.dowStar = strings.HasPrefix(parts[4], "*")
	from := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(from).IsZero() {
		return nil, fmt.Errorf("cron schedule %q never fires", trimmed)
	}
	return s, nil
}

// parseField parses one cron field into a bit set.
func parseField(text string, f field) (uint64, error) {
	var bits uint64
	for item := range strings.SplitSeq(text, ",") {
		b, err := parseItem(item, f)
		if err != nil {
			return 0, fmt.Errorf("invalid %s field %q: %w", f.name, text, err)
		}
		bits |= b
	}
	return bits, nil
}

// parseItem parses "*", "N", "N-M", each with an optional "/STEP".
func parseItem(item string, f field) (uint64, error) {
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("invalid step %q", stepText)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case strings.Contains(rng, "-"):
		a, b, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = value(a, f); err != nil {
			return 0, err
		}
		if hi, err = value(b, f); err != nil {
			return 0, err
		}
		if lo > hi {
			return 0, fmt.Errorf("range %q runs backwards", rng)
		}
	default:
		v, err := value(rng, f)
		if err != nil {
			return 0, err
		}
		lo = v
		if !hasStep {
			hi = v
		}
	}
	var bits uint64
	for v := lo; v <= hi; v += step {
		bits |= 1 << v
	}
	return bits, nil
}

// value parses a number or a name of field f.
func value(text string, f field) (int, error) {
	if text == "" {
		return 0, errors.New("missing value")
	}
	for i, n := range f.names {
		if strings.EqualFold(text, n) {
			return f.min + i, nil
		}
	}
	v, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q", text)
	}
	if v < f.min || v > f.max {
		return 0, fmt.Errorf("value %d out of range %d-%d", v, f.min, f.max)
	}
	return v, nil
}

// String returns the schedule as it was written.
func (s *Schedule) String() string { return s.text }

// Every returns the interval of an @every schedule, 0 for a cron line.
func (s *Schedule) Every() time.Duration { return s.every }

// Next returns the first due time strictly after t, in t's location: for
// @every, t plus the interval; for a cron line, the next minute that
// matches (seconds zero). It returns the zero time if a cron line matches
// nothing in the next 8 years.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Add(s.every)
	}
	loc := t.Location()
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(searchYears, 0, 0)
	for t.Before(limit) {
		y, mo, d := t.Date()
		h, mi := t.Hour(), t.Minute()
		var n time.Time
		switch {
		case s.month&(1<<int(mo)) == 0:
			n = time.Date(y, mo+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			n = time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<h) == 0:
			n = time.Date(y, mo, d, h+1, 0, 0, 0, loc)
		case s.minute&(1<<mi) == 0:
			n = t.Add(time.Minute)
		default:
			return t
		}
		if !n.After(t) { // a wall clock turned back (daylight saving)
			n = t.Add(time.Minute)
		}
		t = n
	}
	return time.Time{}
}

// dayMatches applies cron's rule: with both day fields restricted, either
// may match; otherwise both must (a "*" field matches every day).
func (s *Schedule) dayMatches(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<int(t.Weekday())) != 0
	if !s.domStar && !s.dowStar {
		return dom || dow
	}
	return dom && dow
}
