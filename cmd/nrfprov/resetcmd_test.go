package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSplitCommand: --reset-cmd is split like a shell would split words, and nothing more: no
// variables, globs, pipes or command separators (no shell is involved).
func TestSplitCommand(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{"nrfjprog --reset --snr {sn}", []string{"nrfjprog", "--reset", "--snr", "{sn}"}, ""},
		{"  a \t b  ", []string{"a", "b"}, ""},
		{`a "b c" d`, []string{"a", "b c", "d"}, ""},
		{`a 'b "c" d'`, []string{"a", `b "c" d`}, ""},
		{`a "it's"`, []string{"a", "it's"}, ""},
		{`a b\ c`, []string{"a", "b c"}, ""},
		{`a "b\"c"`, []string{"a", `b"c`}, ""},
		{`a 'b\c'`, []string{"a", `b\c`}, ""}, // a backslash inside single quotes is itself
		{`a ""`, []string{"a", ""}, ""},       // an empty argument is kept
		{`x"y"z`, []string{"xyz"}, ""},
		{"echo $HOME; rm -rf / | cat && `id` *", []string{"echo", "$HOME;", "rm", "-rf", "/", "|", "cat", "&&", "`id`", "*"}, ""},
		{"nrfsim ctl /tmp/ä.sock reset", []string{"nrfsim", "ctl", "/tmp/ä.sock", "reset"}, ""},
		{`a "b`, nil, `unterminated " quote`},
		{`a 'b`, nil, "unterminated ' quote"},
		{"", nil, "empty command"},
		{"   ", nil, "empty command"},
	} {
		got, err := splitCommand(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("splitCommand(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestCommandResetterRunsNoShell: {sn} and {port} are replaced in each argument, and what would
// be shell syntax reaches the program as it is.
func TestCommandResetterRunsNoShell(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "args")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	argv, err := splitCommand(script + ` --snr {sn} "{port};x" '$HOME'`)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	r := commandResetter{argv: argv, sn: "960000001", port: "/dev/ttyACM0", log: &out}
	if err := r.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := "[--snr]\n[960000001]\n[/dev/ttyACM0;x]\n[$HOME]\n"; out.String() != want {
		t.Fatalf("the command saw\n%s\nwant\n%s", out.String(), want)
	}
}
