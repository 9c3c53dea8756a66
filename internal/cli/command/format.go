package command

import (
	"encoding/json"
	"fmt"
	"go/doc/comment"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"
)

// NewTable returns a writer that aligns tab-separated cells (cli.md §1.3):
// columns are as wide as their widest cell plus 2 spaces, at least 5, and the
// last column is not padded. Flush it when done.
func NewTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 5, 3, 2, ' ', 0)
}

// FormatFlag adds --format=text|json|yaml to fs, stored in *p.
func FormatFlag(fs *FlagSet, p *string) {
	fs.String(p, 0, "format", "", "text", "Output format", "text", "json", "yaml")
}

// AbsTimeFlag adds --abs-time to fs, stored in *p.
func AbsTimeFlag(fs *FlagSet, p *bool) {
	fs.Bool(p, 0, "abs-time", "Show absolute times in RFC 3339 format, instead of relative times for the last and next 60 days and dates beyond")
}

// WriteNonText prints v as one compact JSON document and a newline, or as a
// YAML document.
func WriteNonText(w io.Writer, format string, v any) error {
	switch format {
	case "json":
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("internal error: unknown format %q", format)
}

// FormatTime formats t for a table: RFC 3339 to the second in t's own zone
// with --abs-time, else relative to now in loc (cli.md §1.3).
func FormatTime(t, now time.Time, loc *time.Location, abs bool) string {
	if abs {
		return t.Format(time.RFC3339)
	}
	return humanTime(t.In(loc), now.In(loc))
}

// humanTime says when t is in calendar days from now, within 60 days:
// "today at 15:04 UTC", "3 days ago, at 15:04 UTC", else "2006-01-02".
func humanTime(t, now time.Time) string {
	days := dayDistance(t, now)
	clock := t.Format("15:04 MST")
	switch {
	case days == 0:
		return "today at " + clock
	case days == -1:
		return "yesterday at " + clock
	case days == 1:
		return "tomorrow at " + clock
	case days < -1 && days >= -60:
		return strconv.Itoa(-days) + " days ago, at " + clock
	case days > 1 && days <= 60:
		return "in " + strconv.Itoa(days) + " days, at " + clock
	}
	return t.Format("2006-01-02")
}

// dayDistance is the number of calendar days from now's date to t's date,
// both in t's location.
func dayDistance(t, now time.Time) int {
	now = now.In(t.Location())
	ty, tm, td := t.Date()
	ny, nm, nd := now.Date()
	// Noon UTC on each date is a whole number of days apart whatever the
	// zone's DST rules.
	a := time.Date(ty, tm, td, 12, 0, 0, 0, time.UTC)
	b := time.Date(ny, nm, nd, 12, 0, 0, 0, time.UTC)
	return int(a.Sub(b).Round(time.Hour).Hours() / 24)
}

// fill wraps an error message to the given terminal width (at most 100),
// leaving room for an indent of the given size before every line; the first
// line's indent is trimmed, so that the caller can print a prefix there.
// It wraps like Pebble's CLI, which formats the text as a Go doc comment.
func Fill(msg string, indent, width int) string {
	if width > 100 {
		width = 100
	}
	width-- // do not write into the last column
	var p comment.Parser
	pr := comment.Printer{
		TextPrefix:     strings.Repeat(" ", indent),
		TextCodePrefix: strings.Repeat(" ", indent),
		TextWidth:      width - indent,
	}
	return strings.TrimSpace(string(pr.Text(p.Parse(msg))))
}
