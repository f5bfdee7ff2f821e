package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/nrfprov/nrfprov/plugin"
)

func TestSecondInterruptForces(t *testing.T) {
	logger, _ := logtest.NewNullLogger()
	sig := make(chan os.Signal, 2)
	cancelled := make(chan struct{})
	forced := make(chan struct{})
	done := make(chan struct{})
	go func() {
		interrupts(sig, func() { close(cancelled) }, forced, logrus.NewEntry(logger))
		close(done)
	}()
	sig <- os.Interrupt
	<-cancelled
	select {
	case <-forced:
		t.Fatal("the first interrupt forced the exit")
	default:
	}
	sig <- syscall.SIGTERM
	select {
	case <-forced:
	case <-time.After(10 * time.Second):
		t.Fatal("the second interrupt did not force the exit")
	}
	<-done
}

// runApp runs the command line in-process.
func runApp(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newApp(strings.NewReader(""), &out, &errb, cancel)
	code = a.execute(ctx, args)
	return out.String(), errb.String(), code
}

func TestUsageErrorsExitWith2(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"version", "extra"},
		{"--log-level", "loud", "version"},
		{"--plugin-checksum", "tcp=xyz", "plugin", "connect", "tcp", "127.0.0.1:1"},
		{"plugin", "serve"},
	} {
		_, stderr, code := runApp(t, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "nrfprov: ") {
			t.Errorf("nrfprov %q: exit %d, stderr %q; want exit %d and an nrfprov: message", args, code, stderr, exitUsage)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := runApp(t, "version")
	if code != 0 || !strings.HasPrefix(out, "nrfprov ") || !strings.Contains(out, "transport protocol 1") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
}

func TestLockWritesPinsAndHints(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "nrfprov-transport-echo")
	if runtime.GOOS == "windows" {
		exe += ".exe" // Windows runs only .exe files
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "transports.lock")
	t.Setenv(plugin.EnvPluginDir, dir)
	out, stderr, code := runApp(t, "--plugin-lock", lock, "transports", "lock")
	if code != 0 || !strings.Contains(out, "pinned echo sha256:") {
		t.Fatalf("transports lock: exit %d\n%s%s", code, out, stderr)
	}
	lf, err := plugin.ReadLockFile(lock)
	if err != nil || lf.Transports["echo"].Path != exe {
		t.Fatalf("lock file: %+v, %v", lf, err)
	}
	if hs := hintsFor(plugin.WithKind(errors.New("x"), plugin.ErrNotLocked), link{}); len(hs) != 1 || !strings.Contains(hs[0], "transports lock") {
		t.Fatalf("hints(ErrNotLocked) = %q", hs)
	}
}

// TestLinkFlagsOnlyWhereABoardOpens: a verb that opens no board refuses the link flags (exit 2,
// nothing on stdout); flash and reset take only the probe's.
func TestLinkFlagsOnlyWhereABoardOpens(t *testing.T) {
	for _, args := range [][]string{
		{"version", "--dialect", "shell", "--baud", "9600"},
		{"--port", "/dev/ttyACM0", "version"},
		{"--trace-wire", "transports"},
		{"ports", "--board", "960000001"},
		{"reset", "--baud", "9600", "--dry-run", "--runner", "nrfjprog"},
	} {
		out, stderr, code := runApp(t, args...)
		if code != exitUsage || out != "" || !strings.Contains(stderr, "means nothing to") {
			t.Errorf("nrfprov %q: exit %d, stdout %q, stderr %q; want exit 2 and the flag named", args, code, out, stderr)
		}
	}
	// The probe flags stay on the runner verbs, before or after the verb.
	for _, args := range [][]string{
		{"--board", "960000001", "reset", "--runner", "nrfjprog", "--kind", "pin", "--dry-run"},
		{"reset", "--board", "960000001", "--runner", "nrfjprog", "--dry-run"},
	} {
		out, stderr, code := runApp(t, args...)
		if code != 0 || !strings.Contains(out, "nrfjprog") || !strings.Contains(out, "960000001") {
			t.Errorf("nrfprov %q: exit %d\n%s%s", args, code, out, stderr)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	out, _, code := runApp(t, "--json", "version")
	var env struct {
		Schema  int    `json:"schema"`
		Command string `json:"command"`
		Result  struct {
			Version  string `json:"version"`
			Protocol int    `json:"transport_protocol"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &env); err != nil || code != 0 || env.Schema != 1 || env.Command != "version" || env.Result.Protocol != 1 || env.Result.Version == "" {
		t.Fatalf("version --json: exit %d, %v\n%s", code, err, out)
	}
}

// TestHelpListsTheLinkFlagsAVerbTakes: help shows a verb only the link flags it accepts.
func TestHelpListsTheLinkFlagsAVerbTakes(t *testing.T) {
	for _, c := range []struct {
		verb       string
		has, lacks []string
	}{
		{"version", []string{"--json"}, []string{"--baud", "--port", "--board"}},
		{"reset", []string{"--board", "--port"}, []string{"--baud", "--dialect"}},
		{"info", []string{"--baud", "--port", "--dialect", "--json"}, nil},
	} {
		out, _, code := runApp(t, c.verb, "--help")
		for _, f := range c.has {
			if code != 0 || !strings.Contains(out, f) {
				t.Errorf("%s --help lacks %s:\n%s", c.verb, f, out)
			}
		}
		for _, f := range c.lacks {
			if strings.Contains(out, f+" ") {
				t.Errorf("%s --help lists %s, which it refuses:\n%s", c.verb, f, out)
			}
		}
	}
	// The root's help lists them all.
	if out, _, _ := runApp(t, "--help"); !strings.Contains(out, "--baud") {
		t.Errorf("nrfprov --help lacks --baud:\n%s", out)
	}
}
