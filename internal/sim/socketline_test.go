package sim_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// socketPeer connects to a board's serial socket the way QEMU's -serial tcp: chardev does.
func socketPeer(t *testing.T, spec string) (net.Conn, *bufio.Reader) {
	t.Helper()
	network, addr, err := sim.ParseListen(spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout(network, addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c, bufio.NewReader(c)
}

func readUntilSock(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		c, err := r.ReadByte()
		if err != nil {
			t.Fatalf("waiting for %q: got %q: %v", want, got.String(), err)
		}
		got.WriteByte(c)
	}
	return got.String()
}

// TestSerialSocket: with Listen the board's UART is a TCP socket. A peer that connects talks to
// Modem Shell exactly as over the PTY (echo, `at` command, prompt); a second peer replaces the
// first; there is no VCOM0 link; bad specs are refused before the board starts.
func TestSerialSocket(t *testing.T) {
	dir := t.TempDir()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell, Listen: "tcp:127.0.0.1:0", RunDir: dir})
	spec := b.SerialSocket()
	if !strings.HasPrefix(spec, "tcp:127.0.0.1:") || strings.HasSuffix(spec, ":0") {
		t.Fatalf("socket %q: want the bound tcp address", spec)
	}
	if b.VCOM0() != "" {
		t.Fatalf("socket mode has a VCOM0 %q", b.VCOM0())
	}
	if _, err := os.Lstat(filepath.Join(dir, b.SerialNumber()+"-vcom0")); !os.IsNotExist(err) {
		t.Fatalf("socket mode left a vcom link: %v", err)
	}
	c, r := socketPeer(t, spec)
	if _, err := c.Write([]byte("at AT+CGMR\r\n")); err != nil {
		t.Fatal(err)
	}
	got := readUntilSock(t, r, "OK\r\n")
	if !strings.Contains(got, "at AT+CGMR") || !strings.Contains(got, "mfw_nrf9160_") {
		t.Fatalf("over the socket: %q", got)
	}
	readUntilSock(t, r, "mosh:~$ ")

	c2, r2 := socketPeer(t, spec)
	if _, err := c2.Write([]byte("at AT+CFUN?\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readUntilSock(t, r2, "OK\r\n"); !strings.Contains(got, "+CFUN: 0") {
		t.Fatalf("second peer: %q", got)
	}
	// The first peer was hung up on, and saw none of the second one's exchange.
	rest, err := io.ReadAll(r)
	if err != nil || strings.Contains(string(rest), "CFUN") {
		t.Fatalf("first peer after the second connected: read %q, %v (want EOF)", rest, err)
	}
	st, err := b.State(b.ctx())
	if err != nil || st.Socket != spec || st.VCOM0 != "" || st.Stats.Commands != 2 {
		t.Fatalf("state: %+v %v", st, err)
	}

	for _, bad := range []string{"127.0.0.1:0", "udp:127.0.0.1:0", "tcp:nohost", "unix:"} {
		if _, err := sim.StartBoard(b.ctx(), sim.BoardConfig{RunDir: t.TempDir(), Listen: bad}); err == nil {
			t.Fatalf("Listen %q accepted", bad)
		}
	}
}

// TestSerialSocketUnix: a unix socket works the same, and survives unplug and replug at the
// same path.
func TestSerialSocketUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uart.sock")
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell, Listen: "unix:" + path})
	if err := b.Unplug(b.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := b.Replug(b.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(b.ctx()); err != nil {
		t.Fatal(err)
	}
	c, r := socketPeer(t, "unix:"+path)
	if _, err := c.Write([]byte("at AT\r\n")); err != nil {
		t.Fatal(err)
	}
	readUntilSock(t, r, "OK\r\n")
}

// TestSerialSocketHold: with ListenHold, what the board sends while no peer is connected waits
// for the next one, as on a pseudo-terminal: a board reset with nobody connected still shows
// its boot banner and "Ready" to the host that connects afterwards (nrfprov's recovery opens a
// new transport after the reset), and the line works after them. Without the hold these bytes
// are lost and the read below runs into its deadline.
func TestSerialSocketHold(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{Listen: "tcp:127.0.0.1:0", ListenHold: true})
	if err := b.Reset(b.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(b.ctx()); err != nil { // "Ready" has gone out, to nobody
		t.Fatal(err)
	}
	c, r := socketPeer(t, b.SerialSocket())
	got := readUntilSock(t, r, "Ready\r\n")
	if !strings.Contains(got, "*** Booting") {
		t.Fatalf("held output: %q, want the boot banner before Ready", got)
	}
	if _, err := c.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	readUntilSock(t, r, "OK\r\n")

	// nrfprov's recovery: the host hangs up, resets the board at once (the board may not have
	// read the hang-up yet: its first write then finds the peer gone) and connects again.
	c.Close()
	if err := b.Reset(b.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitReady(b.ctx()); err != nil {
		t.Fatal(err)
	}
	c2, r2 := socketPeer(t, b.SerialSocket())
	readUntilSock(t, r2, "Ready\r\n")
	if _, err := c2.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	readUntilSock(t, r2, "OK\r\n")

	if _, err := sim.StartBoard(b.ctx(), sim.BoardConfig{RunDir: t.TempDir(), ListenHold: true}); err == nil ||
		!strings.Contains(err.Error(), "ListenHold needs Listen") {
		t.Fatalf("ListenHold without Listen: %v", err)
	}
}
