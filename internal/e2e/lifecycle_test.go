package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/plugin"
)

// connectHost starts `nrfprov plugin connect serial <vcom0>` (a host holding
// an open stream through a plugin process), proves the stream works with an
// AT exchange, and returns the host and the pids of its children.
func connectHost(t *testing.T, vcom0 string) (*exec.Cmd, []int) {
	t.Helper()
	cmd := exec.Command(nrfprovBin, "--log-level", "info", "plugin", "connect", "serial", vcom0)
	cmd.Env = append(os.Environ(), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("host stderr:\n%s", stderr.String())
		}
	})
	if _, err := stdin.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := readUntilErr(stdout, "OK\r\n")
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("no OK through the host: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("no OK through the host")
	}
	kids := children(t, cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("host %d has children %v, want exactly the serial plugin", cmd.Process.Pid, kids)
	}
	// Keep stdin open: closing it would end the session.
	t.Cleanup(func() { _ = stdin.Close() })
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return cmd, kids
}

// children lists the processes whose parent is pid, from /proc.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may contain spaces and parentheses.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

// waitGone blocks until pid has exited (a pidfd becomes readable when the
// process terminates, zombie or reaped), or fails after testTimeout.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already gone and reaped
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer func() { _ = unix.Close(fd) }()
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(testTimeout.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("plugin process %d still alive %v after its host died:\n%s", pid, testTimeout, procStatus(pid))
		}
		return
	}
}

func procStatus(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func TestNoPluginSurvivesHostSIGKILL(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	host, kids := connectHost(t, b.VCOM0())
	// SIGKILL: the host runs no code at all on the way out.
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	waitGone(t, kids[0])
}

func TestInterruptStopsHostAndPlugin(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	host, kids := connectHost(t, b.VCOM0())
	if err := host.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := host.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("host after one interrupt: %v, want exit status 130", err)
	}
	waitGone(t, kids[0])
	// The plugin closed the port on its way out: the board's VCOM0 opens again.
	h, _ := newHost(t, "", nil)
	exchange(t, openConn(t, start(t, h, "serial"), plugin.OpenRequest{Address: b.VCOM0()}), "AT")
}
