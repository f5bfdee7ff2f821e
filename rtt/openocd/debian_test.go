package openocd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/testsupport"
	"github.com/nrfprov/nrfprov/rtt/openocd"
)

// startRealOpenOCD runs Debian's openocd with its dummy adapter (no probe, no target) and the
// Tcl RPC server on a free port, and returns that port's address. Without openocd the test
// skips, or fails under CI, which installs it (.ci/run).
func startRealOpenOCD(t *testing.T) string {
	t.Helper()
	path := testsupport.RequireTool(t, "openocd", "openocd")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path,
		"-c", "adapter driver dummy", "-c", "transport select jtag", "-c", "jtag newtap dummy cpu -irlen 4 -expected-id 0",
		"-c", "tcl_port 0", "-c", "gdb_port disabled", "-c", "telnet_port disabled")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	// OpenOCD logs the port it bound: "Info : Listening on port N for tcl connections".
	found := make(chan string, 1)
	var log strings.Builder
	go func() {
		re := regexp.MustCompile(`Listening on port (\d+) for tcl connections`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case port, ok := <-found:
		if !ok {
			t.Fatalf("openocd ended without a Tcl port")
		}
		return "127.0.0.1:" + port
	case <-time.After(15 * time.Second):
		t.Fatalf("openocd announced no Tcl port")
	}
	return ""
}

// TestRealOpenOCDTclClient: the Tcl client against Debian's real OpenOCD (0.12, dummy adapter,
// no target): the 0x1a framing of results, single- and multi-line, many commands in step on one
// connection; error replies (an unknown command, broken Tcl) are ErrCommand; and RTT with no
// target is refused at once with ErrNoTarget, since OpenOCD's rtt commands then answer nothing
// at all (checked here too), which would otherwise look like a control block not found yet.
func TestRealOpenOCDTclClient(t *testing.T) {
	addr := startRealOpenOCD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := openocd.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Command(ctx, "version")
	if err != nil || !strings.HasPrefix(v, "Open On-Chip Debugger") {
		t.Fatalf("version: %q %v", v, err)
	}
	for i := range 50 {
		got, err := c.Command(ctx, fmt.Sprintf("expr %d*3", i))
		if err != nil || got != fmt.Sprint(i*3) {
			t.Fatalf("expr %d*3: %q %v", i, got, err)
		}
	}
	if got, err := c.Command(ctx, `return "line one\nline two"`); err != nil || got != "line one\nline two" {
		t.Fatalf("multi-line result: %q %v", got, err)
	}
	if got, err := c.Command(ctx, "rtt server stop 1"); err != nil || got != "" {
		t.Fatalf("an empty result: %q %v", got, err)
	}
	for cmd, want := range map[string]string{
		"no_such_command": `invalid command name "no_such_command"`,
		"set x [expr":     `unmatched "["`,
		"reset run":       `invalid command name "reset"`, // no target: no reset command
	} {
		got, err := c.Exec(ctx, cmd)
		if !errors.Is(err, openocd.ErrCommand) || got != want {
			t.Errorf("%s: %q %v, want ErrCommand with %q", cmd, got, err, want)
		}
	}
	// Still in step after the errors.
	if got, err := c.Command(ctx, "expr 6*7"); err != nil || got != "42" {
		t.Fatalf("after errors: %q %v", got, err)
	}
	if _, err := c.Command(ctx, "echo \x1a"); err == nil {
		t.Error("a command holding the terminator was sent")
	}
	// With no target the rtt commands answer nothing (OpenOCD prints their usage to its log).
	for _, cmd := range []string{`rtt setup 0x20000000 0x40000 "SEGGER RTT"`, "rtt start", "rtt channels"} {
		if got, err := c.Command(ctx, cmd); err != nil || got != "" {
			t.Errorf("%s without a target: %q %v", cmd, got, err)
		}
	}
	// ErrNoTarget, not ErrNoControlBlock after waiting out the attach time.
	_, err = c.StartRTT(ctx, openocd.RTTConfig{Attach: 20 * time.Second})
	if !errors.Is(err, openocd.ErrNoTarget) || !strings.Contains(err.Error(), "target names") {
		t.Fatalf("StartRTT without a target: %v", err)
	}
}
