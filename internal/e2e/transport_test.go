package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

func TestSerialPluginTalksATToBoard(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000001"})
	h, logs := newHost(t, "", nil)
	c := start(t, h, "serial")
	if c.Pid() == 0 || c.Pid() == os.Getpid() {
		t.Fatalf("the serial transport runs in pid %d; want a child process", c.Pid())
	}
	if info := c.Info(); !info.Has(plugin.CapBaud) || info.Has(plugin.CapReset) || c.NegotiatedVersion() != plugin.ProtocolVersion {
		t.Fatalf("serial transport: %+v, protocol %d", info, c.NegotiatedVersion())
	}

	conn := openConn(t, c, plugin.OpenRequest{Address: b.VCOM0(), Baud: 115200})
	if got := exchange(t, conn, "AT"); !strings.HasSuffix(got, "OK\r\n") {
		t.Fatalf("AT answered %q", got)
	}
	if got := exchange(t, conn, "AT+CGMR"); !strings.Contains(got, "mfw_nrf9160_1.3") {
		t.Fatalf("AT+CGMR answered %q", got)
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	// Close returned after the plugin closed the port: it opens again at once.
	conn = openConn(t, c, plugin.OpenRequest{Address: b.VCOM0()})
	exchange(t, conn, "AT")

	// The serial transport has no reset: a named error, not a silent no-op.
	if err := plugin.Reset(ctxT(t), conn, plugin.ResetRequest{}); !errors.Is(err, plugin.ErrNotSupported) {
		t.Fatalf("Reset over serial = %v, want ErrNotSupported", err)
	}
	// The plugin's own log lines were folded into the host's log.
	var folded bool
	for _, e := range logs.AllEntries() {
		if e.Message == "serial port open" && e.Data["transport"] == "serial" && e.Data["port"] == b.VCOM0() {
			folded = true
		}
	}
	if !folded {
		t.Errorf("the plugin's %q log line did not reach the host log", "serial port open")
	}
}

func TestSerialPluginErrorsAreTyped(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	h, _ := newHost(t, "", nil)
	c := start(t, h, "serial")

	_, err := c.Open(ctxT(t), plugin.OpenRequest{Address: filepath.Join(t.TempDir(), "ttyACM7")})
	if !errors.Is(err, plugin.ErrNotFound) {
		t.Fatalf("open missing port = %v, want ErrNotFound", err)
	}
	_, err = c.Open(ctxT(t), plugin.OpenRequest{Address: b.VCOM0(), Options: map[string]string{"parity": "even"}})
	if !errors.Is(err, plugin.ErrInvalidArgument) {
		t.Fatalf("open with unknown option = %v, want ErrInvalidArgument", err)
	}

	// Pull the USB cable under an open stream.
	conn := openConn(t, c, plugin.OpenRequest{Address: b.VCOM0()})
	exchange(t, conn, "AT")
	if err := b.Unplug(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_, err = readUntilErr(conn, "never")
	var re *plugin.RemoteError
	if !errors.Is(err, plugin.ErrDisconnected) || !errors.As(err, &re) || re.Transport != "serial" {
		t.Fatalf("read after unplug = %v, want a RemoteError from serial matching ErrDisconnected", err)
	}
	if _, err := c.Open(ctxT(t), plugin.OpenRequest{Address: b.VCOM0()}); !errors.Is(err, plugin.ErrNotFound) {
		t.Fatalf("open while unplugged = %v, want ErrNotFound", err)
	}
	if c.Exited() {
		t.Fatal("an unplugged board took the transport process down")
	}
	// Plug it back: the same path, a new PTY, the same transport process.
	if err := b.Replug(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	exchange(t, openConn(t, c, plugin.OpenRequest{Address: b.VCOM0()}), "AT")
}

func TestPluginKilledMidStreamIsTransportExited(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	h, _ := newHost(t, "", nil)
	c := start(t, h, "serial")
	conn := openConn(t, c, plugin.OpenRequest{Address: b.VCOM0()})
	exchange(t, conn, "AT")

	readErr := make(chan error, 1)
	go func() { _, err := readUntilErr(conn, "never"); readErr <- err }()
	if err := syscall.Kill(c.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-readErr // bounded by readUntilErr's deadline
	var exited *plugin.TransportExitedError
	if !errors.Is(err, plugin.ErrTransportExited) || !errors.As(err, &exited) || exited.Transport != "serial" {
		t.Fatalf("read while the plugin is killed = %v, want a TransportExitedError", err)
	}
	if _, err := conn.Write([]byte("AT\r")); !errors.Is(err, plugin.ErrTransportExited) {
		t.Fatalf("write after the plugin died = %v, want ErrTransportExited", err)
	}
	if _, err := c.Open(ctxT(t), plugin.OpenRequest{Address: b.VCOM0()}); !errors.Is(err, plugin.ErrTransportExited) {
		t.Fatalf("open on a dead plugin = %v, want ErrTransportExited", err)
	}
}

// tcpBridge is a ser2net stand-in: it accepts TCP connections on 127.0.0.1
// and bridges each to the board's VCOM0 (raw mode).
func tcpBridge(t *testing.T, vcom0 string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			port, err := serialio.Open(vcom0, serialio.Config{})
			if err != nil {
				_ = nc.Close()
				continue
			}
			wg.Go(func() { _, _ = io.Copy(nc, port); _ = nc.Close() })
			wg.Go(func() { _, _ = io.Copy(port, nc); _ = port.Close() })
		}
	})
	return ln.Addr().String()
}

func sha256File(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return s[:]
}

func TestExternalTCPPluginIsDiscoveredAndUsed(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	addr := tcpBridge(t, b.VCOM0())

	found, err := plugin.Discover(plugin.DiscoverConfig{Self: nrfprovBin, Builtins: []string{"serial"}, PluginDir: pluginDir})
	if err != nil {
		t.Fatal(err)
	}
	f, err := plugin.Lookup(found, "tcp")
	if err != nil || f.Source != plugin.SourcePluginDir || f.Path != tcpBin {
		t.Fatalf("tcp transport found as %+v, %v; want %s from the plugin dir", f, err, tcpBin)
	}

	h, _ := newHost(t, pluginDir, plugin.Checksums{"tcp": sha256File(t, tcpBin)})
	c := start(t, h, "tcp")
	if c.Path() != tcpBin || c.Info().Name != "tcp" {
		t.Fatalf("started %s describing %+v", c.Path(), c.Info())
	}
	conn := openConn(t, c, plugin.OpenRequest{Address: addr})
	if got := exchange(t, conn, "AT+CGSN=1"); !strings.Contains(got, "+CGSN: ") {
		t.Fatalf("AT+CGSN=1 over tcp answered %q", got)
	}
	if _, err := c.Open(ctxT(t), plugin.OpenRequest{Address: addr, Baud: 9600}); !errors.Is(err, plugin.ErrNotSupported) {
		t.Fatalf("tcp open with a baud rate = %v, want ErrNotSupported", err)
	}
}

func TestUnpinnedOrTamperedPluginIsRefused(t *testing.T) {
	// A copy we can tamper with.
	dir := t.TempDir()
	exe := filepath.Join(dir, "nrfprov-transport-tcp")
	orig, err := os.ReadFile(tcpBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, orig, 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ := newHost(t, dir, nil)
	if _, err := h.Start(ctxT(t), "tcp"); !errors.Is(err, plugin.ErrNotLocked) {
		t.Fatalf("start unpinned = %v, want ErrNotLocked", err)
	}

	pinned := sha256File(t, exe)
	if err := os.WriteFile(exe, append(orig, 0), 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ = newHost(t, dir, plugin.Checksums{"tcp": pinned})
	_, err = h.Start(ctxT(t), "tcp")
	var mm *plugin.ChecksumMismatchError
	if !errors.As(err, &mm) || !bytes.Equal(mm.Want, pinned) || !bytes.Equal(mm.Got, sha256File(t, exe)) {
		t.Fatalf("start tampered = %v, want a ChecksumMismatchError with both sums", err)
	}
	for _, want := range []string{exe, hex.EncodeToString(pinned), "refusing to run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("mismatch error %q does not say %q", err, want)
		}
	}
}

func TestFuturePluginIsIncompatible(t *testing.T) {
	dir := filepath.Dir(futureBin)
	h, _ := newHost(t, dir, plugin.Checksums{"future": sha256File(t, futureBin)})
	_, err := h.Start(ctxT(t), "future")
	if !errors.Is(err, plugin.ErrIncompatible) {
		t.Fatalf("start a protocol-2-only plugin = %v, want ErrIncompatible", err)
	}
}

// nrfprov runs the nrfprov binary with a clean plugin environment.
func nrfprov(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.CommandContext(ctxT(t), nrfprovBin, args...)
	cmd.Env = append(os.Environ(), "PATH=/usr/bin:/bin", "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run nrfprov %v: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

type transportsJSON struct {
	Schema     int
	Transports []struct {
		Name         string   `json:"name"`
		Source       string   `json:"source"`
		Path         string   `json:"path"`
		Status       string   `json:"status"`
		Version      string   `json:"version"`
		Protocol     int      `json:"protocol"`
		Capabilities []string `json:"capabilities"`
	} `json:"transports"`
}

func listTransports(t *testing.T, env []string) transportsJSON {
	t.Helper()
	out, errOut, code := nrfprov(t, env, "transports", "--json")
	if code != 0 {
		t.Fatalf("nrfprov transports --json: exit %d\n%s", code, errOut)
	}
	var doc struct {
		Schema  int            `json:"schema"`
		Command string         `json:"command"`
		Result  transportsJSON `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Command != "transports" {
		t.Fatalf("transports --json output is not the {schema, command, result} envelope: %v\n%s", err, out)
	}
	doc.Result.Schema = doc.Schema
	return doc.Result
}

func TestTransportsCommandListsAndLocks(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "transports.lock")
	env := []string{"NRFPROV_PLUGIN_DIR=" + pluginDir, "NRFPROV_PLUGIN_LOCK=" + lock}

	got := listTransports(t, env)
	if got.Schema != 1 || len(got.Transports) != 3 || got.Transports[0].Name != "rtt" {
		t.Fatalf("transports = %+v, want rtt, serial and tcp, sorted", got)
	}
	rttRow, serial, tcp := got.Transports[0], got.Transports[1], got.Transports[2]
	if rttRow.Status != "builtin" || strings.Join(rttRow.Capabilities, ",") != "reset" {
		t.Errorf("rtt row = %+v", rttRow)
	}
	if serial.Name != "serial" || serial.Status != "builtin" || serial.Path != nrfprovBin || serial.Protocol != 1 ||
		!strings.Contains(strings.Join(serial.Capabilities, ","), "flow-control") {
		t.Errorf("serial row = %+v", serial)
	}
	if tcp.Name != "tcp" || tcp.Status != "not-locked" || tcp.Version != "" || tcp.Source != "plugin-dir" {
		t.Errorf("unpinned tcp row = %+v; an unpinned plugin must not be run", tcp)
	}

	out, errOut, code := nrfprov(t, env, "transports", "lock")
	if code != 0 || !strings.Contains(out, "pinned tcp sha256:"+hex.EncodeToString(sha256File(t, tcpBin))) {
		t.Fatalf("transports lock: exit %d\n%s%s", code, out, errOut)
	}
	tcp = listTransports(t, env).Transports[2]
	if tcp.Status != "locked" || tcp.Version != "dev" || tcp.Protocol != 1 {
		t.Errorf("pinned tcp row = %+v", tcp)
	}

	// A wrong --plugin-checksum beats the lock file, and is refused.
	b := startBoard(t, sim.BoardConfig{})
	addr := tcpBridge(t, b.VCOM0())
	wrong := "tcp=" + strings.Repeat("ab", 32)
	_, errOut, code = nrfprov(t, env, "--plugin-checksum", wrong, "plugin", "connect", "tcp", addr)
	if code != 3 || !strings.Contains(errOut, "refusing to run") || !strings.Contains(errOut, "hint:") {
		t.Fatalf("connect with a wrong checksum: exit %d, stderr:\n%s\nwant exit 3 and a clear refusal", code, errOut)
	}
}
