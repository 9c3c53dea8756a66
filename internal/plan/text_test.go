package plan

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestLayerTextRejected(t *testing.T) {
	const svc = "services:\n    web:\n        override: replace\n        command: run\n"
	tests := []struct {
		name, label, yaml, err string
	}{
		{"service name NUL", "l", "services:\n    \"w\\0b\":\n        override: replace\n        command: x\n",
			`cannot accept layer "l": service name "w\x00b" contains a NUL byte`},
		{"command NUL", "l", "services:\n    web:\n        override: replace\n        command: \"run\\0 x\"\n",
			`cannot accept layer "l": service "web" field "command" contains a NUL byte: "run\x00 x"`},
		{"environment key NUL", "l", svc + "        environment: {\"A\\0\": b}\n",
			`cannot accept layer "l": service "web" field "environment" key "A\x00" contains a NUL byte`},
		{"environment key =", "l", svc + "        environment: {\"A=B\": c}\n",
			`cannot accept layer "l": service "web" field "environment" key "A=B" contains "="`},
		{"environment value NUL", "l", svc + "        environment: {A: \"b\\0\"}\n",
			`cannot accept layer "l": service "web" field "environment" contains a NUL byte: "b\x00"`},
		{"after NUL", "l", svc + "        after: [\"a\\0\"]\n",
			`cannot accept layer "l": service "web" field "after" contains a NUL byte: "a\x00"`},
		{"label NUL", "a\x00b", svc, `cannot accept layer label "a\x00b": it contains a NUL byte`},
		{"label invalid UTF-8", "a\xffb", svc, `cannot accept layer label "a\xffb": it is not valid UTF-8`},
		{"summary NUL", "l", "summary: \"a\\0\"\n", `cannot accept layer "l": field "summary" contains a NUL byte`},
		{"check exec environment =", "l", "checks:\n    c:\n        override: replace\n        exec:\n            command: x\n            environment: {\"A=\": b}\n",
			`cannot accept layer "l": check "c" field "exec.environment" key "A=" contains "="`},
		{"check http header NUL", "l", "checks:\n    c:\n        override: replace\n        http:\n            url: http://x\n            headers: {A: \"\\0\"}\n",
			`cannot accept layer "l": check "c" field "http.headers" contains a NUL byte: "\x00"`},
		{"log target name NUL", "l", "log-targets:\n    \"t\\0\":\n        override: replace\n        type: loki\n        location: http://x\n",
			`cannot accept layer "l": log target name "t\x00" contains a NUL byte`},
		{"workload environment =", "l", "workloads:\n    w:\n        override: replace\n        environment: {\"=\": b}\n",
			`cannot accept layer "l": workload "w" field "environment" key "=" contains "="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLayer(1, tt.label, []byte(tt.yaml))
			checkErr(t, "ParseLayer", err, tt.err)
			var fe *FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FormatError", err)
			}
		})
	}
}

// Invalid UTF-8 cannot be written in YAML (the parser refuses it), but a
// layer built in code can hold it.
func TestLayerTextInvalidUTF8(t *testing.T) {
	l := newLayer(1, "l")
	l.Services["web"] = &Service{Name: "web", Override: ReplaceOverride, Command: "run \xff"}
	checkErr(t, "Validate", l.Validate(), `cannot accept layer "l": service "web" field "command" is not valid UTF-8: "run \xff"`)
}

func TestLayerTextValidUnicodeAccepted(t *testing.T) {
	const yaml = `summary: "résumé ✓"
description: "日本語 🚀"
services:
    "wéb-сервис-🚀":
        override: replace
        summary: "ça marche"
        command: /bin/echo "héllo wörld" ✓ 🚀
        environment:
            GRÜSSE: "こんにちは"
            EMOJI: "🚀=ok"
        working-dir: /tmp/ünïcode
        after: [dépendance]
checks:
    "vérif":
        override: replace
        http:
            url: http://localhost/ü
            headers: {X-Name: "ñ"}
log-targets:
    "cible":
        override: replace
        type: loki
        location: http://localhost/ü
        labels: {étiquette: "valeur ✓"}
`
	l, err := ParseLayer(1, "étiquette-✓", []byte(yaml))
	if err != nil {
		t.Fatalf("valid UTF-8 refused: %v", err)
	}
	if got := l.Services["wéb-сервис-🚀"].Environment["GRÜSSE"]; got != "こんにちは" {
		t.Errorf("environment value %q", got)
	}
	if _, err := NewPlan([]*Layer{l}); err != nil {
		t.Errorf("plan of valid UTF-8 refused: %v", err)
	}
}

// TestTextsCoverEveryString fills every field of each entry type and checks
// that texts returns every string: a string field added to a type but
// forgotten in its texts method fails here.
func TestTextsCoverEveryString(t *testing.T) {
	type texter interface{ texts() []text }
	for _, v := range []texter{&Service{}, &Check{}, &LogTarget{}, &Workload{}} {
		fill(reflect.ValueOf(v).Elem(), 1)
		reflect.ValueOf(v).Elem().FieldByName("Name").SetString("")
		want := countStrings(reflect.ValueOf(v))
		got := 0
		for _, tx := range v.texts() {
			if tx.value != "" {
				got++
			}
		}
		if got != want {
			t.Errorf("%T: texts returns %d strings, the value holds %d", v, got, want)
		}
	}
}

// countStrings counts the non-empty strings reachable from v, map keys
// included.
func countStrings(v reflect.Value) int {
	switch v.Kind() {
	case reflect.String:
		if v.String() != "" {
			return 1
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return countStrings(v.Elem())
		}
	case reflect.Slice:
		n := 0
		for i := range v.Len() {
			n += countStrings(v.Index(i))
		}
		return n
	case reflect.Map:
		n := 0
		for _, k := range v.MapKeys() {
			n += countStrings(k) + countStrings(v.MapIndex(k))
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			n += countStrings(v.Field(i))
		}
		return n
	}
	return 0
}

func TestAliasExpansionBounded(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	var b strings.Builder
	fmt.Fprintf(&b, "summary: &big %s\nservices:\n", big)
	for i := range 1000 {
		fmt.Fprintf(&b, "    s%d:\n        override: replace\n        command: *big\n", i)
	}
	_, err := ParseLayer(1, "bomb", []byte(b.String()))
	checkErr(t, "ParseLayer", err, `~cannot accept layer "bomb": it holds 100`)
	checkErr(t, "ParseLayer", err, fmt.Sprintf("~more than the limit of %d", MaxLayerText))

	// The same text written out, without aliases, is refused the same way.
	l := newLayer(1, "long")
	l.Summary = strings.Repeat("y", MaxLayerText+1)
	checkErr(t, "Validate", l.Validate(), fmt.Sprintf(`cannot accept layer "long": it holds %d bytes of text once aliases are expanded, more than the limit of %d`, MaxLayerText+1+len("long"), MaxLayerText))
}

func TestPlanTextBounded(t *testing.T) {
	// Five layers of 3.5 MiB each are fine one by one, not together.
	chunk := strings.Repeat("z", 7<<19)
	p, err := NewPlan(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l := newLayer(0, fmt.Sprintf("big%d", i))
		l.Summary = chunk
		next, err := p.WithLayer(l, false, false)
		if i < 4 {
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			p = next
			continue
		}
		checkErr(t, "WithLayer", err, fmt.Sprintf("cannot combine layers: they hold %d bytes of text, more than the limit of %d", 5*len(chunk)+20, MaxPlanText))
	}
	_, err = NewPlan(append(p.Layers, p.Layers[0]))
	checkErr(t, "NewPlan", err, "~more than the limit of")
}
