package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// complete runs cobra's __complete and returns the values offered (descriptions dropped) and
// the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"__complete"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var vals []string
	for _, l := range lines[:len(lines)-1] {
		vals = append(vals, strings.SplitN(l, "\t", 2)[0])
	}
	return vals, lines[len(lines)-1]
}

func TestCompleteProfilesAndPersonalities(t *testing.T) {
	got, dir := complete(t, "--profile", "")
	if !slices.Equal(got, sim.ProfileNames()) || dir != ":4" {
		t.Errorf("--profile: %v %s, want %v :4", got, dir, sim.ProfileNames())
	}
	got, _ = complete(t, "--personality", "mo")
	if !slices.Equal(got, []string{"modem_shell"}) {
		t.Errorf("--personality mo: %v", got)
	}
	got, _ = complete(t, "--personality", "")
	if len(got) != len(sim.Personalities()) {
		t.Errorf("--personality: %v", got)
	}
}
