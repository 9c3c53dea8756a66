package command

import (
	"fmt"
	"io"
	"strings"
)

// helpColumns is the width help text is laid out for.
const helpColumns = 80

// WriteHelp writes "pebble <cmd> --help" to w, laid out like go-flags' help
// so that it matches Pebble's.
func WriteHelp(w io.Writer, info *Info) {
	var fs FlagSet
	info.New().Flags(&fs)
	var visible []*option
	for _, o := range fs.opts {
		if !o.hidden {
			visible = append(visible, o)
		}
	}

	fmt.Fprintf(w, "Usage:\n  pebble %s", info.Name)
	if info.Usage != "" {
		fmt.Fprintf(w, " %s", info.Usage)
	}
	fmt.Fprintln(w)
	if info.Description != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, WrapHelp(info.Description, helpColumns, ""))
	}

	// Options and argument descriptions share one description column.
	longest, hasShort, hasValueName := 0, false, false
	for _, a := range info.Args {
		longest = max(longest, len(a.Name)+4)
	}
	for _, o := range visible {
		hasShort = hasShort || o.short != 0
		hasValueName = hasValueName || o.valueName != ""
		longest = max(longest, len(o.long)+len(o.valueName)+len(choicesText(o))+4)
	}
	descStart := longest + 2 + 2
	if hasShort {
		descStart += 2
	}
	if longest > 0 {
		descStart += 4
	}
	if hasValueName {
		descStart += 3
	}

	if len(visible) > 0 {
		fmt.Fprintf(w, "\n[%s command options]\n", info.Name)
		for _, o := range visible {
			writeOptionHelp(w, o, hasShort, descStart)
		}
	}
	var described []PosArg
	for _, a := range info.Args {
		if a.Desc != "" {
			described = append(described, a)
		}
	}
	if len(described) > 0 {
		fmt.Fprintf(w, "\n[%s command arguments]\n", info.Name)
		for _, a := range described {
			prefix := "  " + a.Name + ":"
			fmt.Fprintf(w, "%s%s%s\n", prefix, strings.Repeat(" ", max(descStart-len(prefix), 1)),
				WrapHelp(a.Desc, helpColumns-1-descStart, strings.Repeat(" ", descStart)))
		}
	}
}

func choicesText(o *option) string {
	if len(o.choices) == 0 {
		return ""
	}
	return "[" + strings.Join(o.choices, "|") + "]"
}

func writeOptionHelp(w io.Writer, o *option, hasShort bool, descStart int) {
	var b strings.Builder
	b.WriteString("      ")
	switch {
	case o.short != 0:
		fmt.Fprintf(&b, "-%c", o.short)
	case hasShort:
		b.WriteString("  ")
	}
	if o.long != "" {
		switch {
		case o.short != 0:
			b.WriteString(", ")
		case hasShort:
			b.WriteString("  ")
		}
		b.WriteString("--" + o.long)
	}
	if o.kind != boolOpt {
		b.WriteString("=" + o.valueName + choicesText(o))
	}
	desc := o.desc
	if o.def != "" {
		desc += " (default: " + o.def + ")"
	}
	pad := max(descStart-b.Len(), 1)
	fmt.Fprintf(w, "%s%s%s\n", b.String(), strings.Repeat(" ", pad),
		WrapHelp(desc, helpColumns-descStart, strings.Repeat(" ", descStart)))
}

// WrapHelp wraps each line of s at spaces to at most width characters,
// starting continuation lines with prefix.
func WrapHelp(s string, width int, prefix string) string {
	width = max(width, 10)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		line = strings.TrimSpace(line)
		for len(line) > width {
			cut := strings.LastIndex(line[:width], " ")
			if cut <= 0 {
				cut = width
			}
			out = append(out, strings.TrimSpace(line[:cut]))
			line = strings.TrimSpace(line[cut:])
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"+prefix)
}
