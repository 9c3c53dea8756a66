package plan

import "testing"

func TestParsePrivacyFields(t *testing.T) {
	base := mustParse(t, 1, "base", `
services:
    db:
        override: replace
        command: db
        environment-file: /etc/db/secrets.env
        log-access: admin
`)
	db := base.Services["db"]
	if db.EnvironmentFile != "/etc/db/secrets.env" || !db.LogsRestricted() {
		t.Errorf("db = %+v", db)
	}
	over := mustParse(t, 2, "over", `
services:
    db:
        override: merge
        environment-file: /run/secrets/db.env
        log-access: read
`)
	merged := db.Copy()
	merged.Merge(over.Services["db"])
	if merged.EnvironmentFile != "/run/secrets/db.env" || merged.LogsRestricted() {
		t.Errorf("merged = %+v, want the later layer's file and read access", merged)
	}
	if merged.Equal(db) {
		t.Error("services differing in environment-file and log-access are equal")
	}
}

func TestParsePrivacyErrors(t *testing.T) {
	const svc = "services:\n    db:\n        override: replace\n        command: db\n"
	tests := []struct{ name, yaml, err string }{
		{"relative file", svc + "        environment-file: secrets.env\n",
			`layer "base" service "db": environment-file must be an absolute path, not "secrets.env"`},
		{"bad access", svc + "        log-access: root\n",
			`layer "base" service "db": log-access must be "read" or "admin", not "root"`},
		{"file not a string", svc + "        environment-file: [a, b]\n",
			`cannot parse layer "base" section "services": line 5: service "db" field "environment-file": expected a string, not a sequence`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLayer(1, "base", []byte(tt.yaml))
			checkErr(t, "ParseLayer", err, tt.err)
		})
	}
}
