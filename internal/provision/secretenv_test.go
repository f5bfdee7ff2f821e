package provision

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretEnvLeavesChildrenWithout: a variable a manifest's env: credential reads is gone from
// the environment a child process starts with, and a second Load in the process still finds it.
func TestSecretEnvLeavesChildrenWithout(t *testing.T) {
	t.Setenv("NRFPROV_TEST_PSK", "00112233445566778899aabbccddeeff")
	t.Setenv("NRFPROV_TEST_OTHER", "kept")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte("version: 1\ncredentials:\n  - {sec_tag: 3, type: PSK, env: NRFPROV_TEST_PSK}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var s SecretEnv
	for i := range 2 {
		m, err := Load(path, s.Lookup)
		if err != nil || len(m.Credentials) != 1 || string(m.Credentials[0].Content) != "00112233445566778899aabbccddeeff" {
			t.Fatalf("load %d: %+v, %v", i, m, err)
		}
	}
	// A child process: this test binary again, printing the environment it started with (no
	// `env` command needed, so it runs on Windows too).
	child := exec.Command(os.Args[0], "-test.run=^TestHelperPrintEnv$")
	child.Env = append(os.Environ(), "NRFPROV_TEST_PRINT_ENV=1")
	out, err := child.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "NRFPROV_TEST_PSK") || strings.Contains(string(out), "00112233445566778899") {
		t.Fatalf("a child process inherits the secret:\n%s", out)
	}
	if !strings.Contains(string(out), "NRFPROV_TEST_OTHER=kept") {
		t.Fatalf("other variables must stay:\n%s", out)
	}
	if _, ok := s.Lookup("NRFPROV_TEST_UNSET"); ok {
		t.Fatal("an unset variable found")
	}
}

// TestHelperPrintEnv is the child process of TestSecretEnvLeavesChildrenWithout: it prints its
// environment and exits. Run directly it does nothing.
func TestHelperPrintEnv(t *testing.T) {
	if os.Getenv("NRFPROV_TEST_PRINT_ENV") != "1" {
		return
	}
	for _, kv := range os.Environ() {
		os.Stdout.WriteString(kv + "\n")
	}
	os.Exit(0)
}
