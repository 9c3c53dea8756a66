package osutil

import "testing"

func TestFillUserEnv(t *testing.T) {
	root := 0
	env := map[string]string{"USER": "kept"}
	if err := FillUserEnv(env, &root); err != nil {
		t.Fatal(err)
	}
	if env["HOME"] != "/root" || env["USER"] != "kept" {
		t.Errorf("env = %v, want HOME=/root and USER kept", env)
	}
	empty := map[string]string{}
	if err := FillUserEnv(empty, nil); err != nil || len(empty) != 0 {
		t.Errorf("nil uid changed env to %v (err %v)", empty, err)
	}
}
