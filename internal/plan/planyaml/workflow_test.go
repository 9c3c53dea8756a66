package planyaml

import (
	"testing"
)

func TestWorkflowsPrintedAndReadBack(t *testing.T) {
	layer := `workflows:
    upgrade:
        override: replace
        summary: Upgrade
        phases:
            - name: drain
              strategy: parallel
              steps:
                - stop: web
                - exec: /bin/drain --all
                  user-id: 0
                  working-dir: /srv
                  environment:
                    A: "1"
                  timeout: 5m0s
                  retries: 2
            - name: resume
              steps:
                - start: web
`
	l := mustParse(t, 0, "wf", layer)
	out, err := Layer(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != layer {
		t.Errorf("layer printed as\n%s\nwant\n%s", out, layer)
	}
	back := mustParse(t, 0, "wf", string(out))
	if !back.Workflows["upgrade"].Equal(l.Workflows["upgrade"]) {
		t.Errorf("read back %+v, want %+v", back.Workflows["upgrade"], l.Workflows["upgrade"])
	}

	p := mustPlan(t, "services:\n    web: {override: replace, command: /bin/web}\n", layer)
	out, err = Plan(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "services:\n    web:\n        override: replace\n        command: /bin/web\n" + layer
	if string(out) != want {
		t.Errorf("plan printed as\n%s\nwant\n%s", out, want)
	}
}
