// Package qemutest runs real ARM code for tests: it builds the RTT bridge firmware in firmware/
// (C, for QEMU's mps2-an385 Cortex-M3 board) with arm-none-eabi-gcc and starts qemu-system-arm
// on it as a real process, with QEMU's own GDB server and UART0 connected to a socket.
//
// The firmware keeps a SEGGER RTT control block (_SEGGER_RTT: up channel 0 "Terminal" 1024
// bytes, down channel 0 "Terminal" 16 bytes) and bridges RTT to UART0, so a host that speaks
// RTT through QEMU's GDB server talks to whatever answers on the UART socket (nrfsim's modem in
// socket mode).
//
// Without the tools the tests skip, naming the packages to install; when the environment
// variable CI is set they fail instead, since CI installs them (.ci/run).
package qemutest

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

//go:embed firmware/*.c firmware/*.ld
var sources embed.FS

const (
	gcc  = "arm-none-eabi-gcc"
	qemu = "qemu-system-arm"
	// Install is what provides both tools on Debian and Ubuntu.
	Install = "apt-get install -y --no-install-recommends qemu-system-arm gcc-arm-none-eabi"
	// Machine is QEMU's board: a Cortex-M3 with a CMSDK UART0 at 0x40004000 and RAM at
	// 0x20000000.
	Machine = "mps2-an385"
)

// RAM is where the firmware's RAM lies: the range rtt.Attach scans by default
// (0x20000000–0x2003FFFF) covers it.
const (
	RAMStart = 0x20000000
	RAMSize  = 256 << 10
)

// Require skips the test when arm-none-eabi-gcc or qemu-system-arm is missing, or fails it when
// CI is set.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, tool := range []string{gcc, qemu} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%v not installed (install with: %s)", missing, Install)
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: %s; .ci/run installs them", msg)
	}
	t.Skip(msg)
}

var (
	buildMu  sync.Mutex
	builtELF string // built once per test binary
	buildDir string
)

// Firmware compiles the firmware once per test binary and returns the ELF's path. Call Cleanup
// from TestMain to remove it.
func Firmware(t testing.TB) string {
	t.Helper()
	Require(t)
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtELF != "" {
		return builtELF
	}
	dir, err := os.MkdirTemp("", "qemutest-fw-")
	if err != nil {
		t.Fatal(err)
	}
	elf, err := Build(dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	buildDir, builtELF = dir, elf
	return elf
}

// Cleanup removes what Firmware built; call it from TestMain after m.Run.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
		buildDir, builtELF = "", ""
	}
}

// Build writes the firmware sources into dir and compiles them to dir/fw.elf.
func Build(dir string) (string, error) {
	src, err := fs.Sub(sources, "firmware")
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dir, src); err != nil {
		return "", fmt.Errorf("qemutest: firmware sources: %w", err)
	}
	elf := filepath.Join(dir, "fw.elf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gcc,
		"-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-ffreestanding", "-O2", "-g",
		"-Wall", "-Wextra", "-Werror",
		"-T", "mps2-an385.ld", "-o", elf, "main.c", "startup.c")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("qemutest: %s: %w\n%s", gcc, err, out)
	}
	return elf, nil
}

// QEMU is a running qemu-system-arm.
type QEMU struct {
	// GDB is QEMU's GDB server, host:port on 127.0.0.1.
	GDB string
	// ELF is the firmware it runs.
	ELF string

	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

// Start runs the firmware in QEMU with UART0 connected, as a TCP client, to serial (host:port:
// nrfsim's socket mode listens there). QEMU's GDB server listens on a socket the test opened
// and hands to QEMU (so the port is known and never raced for). The core runs from reset;
// the process is killed when the test ends.
func Start(t testing.TB, elf, serial string) *QEMU {
	t.Helper()
	Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	ln.Close() // the duplicate in lf keeps listening
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	args, err := Args(elf, "fd=3", serial)
	if err != nil {
		t.Fatal(err)
	}
	q := &QEMU{GDB: ln.Addr().String(), ELF: elf, stderr: &bytes.Buffer{}}
	q.cmd = exec.Command(qemu, args...)
	q.cmd.ExtraFiles = []*os.File{lf} // fd 3 in QEMU
	q.cmd.Stdout = q.stderr
	q.cmd.Stderr = q.stderr
	if err := q.cmd.Start(); err != nil {
		t.Fatalf("qemutest: start %s: %v", qemu, err)
	}
	done := make(chan struct{})
	go func() { q.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		q.cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("qemu output:\n%s", q.stderr.String())
		}
	})
	return q
}

// Args is QEMU's command line for the firmware: mps2-an385, no display or monitor, the GDB
// server on the chardev socket given by gdbSocket ("fd=N" for an inherited listening socket,
// or "host=H,port=P"), UART0 a TCP client of serial (host:port). Both sockets have Nagle's
// algorithm off (nodelay=on): QEMU writes the UART a byte at a time and the GDB stub a packet
// at a time, and each small write would otherwise wait for the peer's delayed ACK.
func Args(elf, gdbSocket, serial string) ([]string, error) {
	host, port, err := net.SplitHostPort(serial)
	if err != nil {
		return nil, fmt.Errorf("qemutest: serial address %q: %w", serial, err)
	}
	return []string{
		"-M", Machine,
		"-nographic", "-monitor", "none",
		"-kernel", elf,
		"-chardev", "socket,id=gdb0,server=on,wait=off,nodelay=on," + gdbSocket,
		"-gdb", "chardev:gdb0",
		"-chardev", "socket,id=uart0,host=" + host + ",port=" + port + ",nodelay=on",
		"-serial", "chardev:uart0",
	}, nil
}
