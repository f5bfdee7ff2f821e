package sim_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// These tests reach the board's RTT the way a J-Link user does: raw TCP to the telnet endpoint,
// or OpenOCD's Tcl port and the RTT server it starts.

type rawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	r.c.SetWriteDeadline(time.Now().Add(testTimeout))
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

func (r *rawConn) line() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(testTimeout))
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read line: %v (got %q)", err, l)
	}
	return l
}

// expect reads until want has arrived and returns everything read.
func (r *rawConn) expect(acc *bytes.Buffer, want string) string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(testTimeout))
	buf := make([]byte, 4096)
	for !strings.Contains(acc.String(), want) {
		n, err := r.r.Read(buf)
		acc.Write(buf[:n])
		if err != nil {
			r.t.Fatalf("waiting for %q: %v; got %q", want, err, acc.String())
		}
	}
	return acc.String()
}

func startTelnet(t *testing.T, b *testBoard, o sim.TelnetOptions) *sim.TelnetServer {
	t.Helper()
	s, err := sim.ServeRTTTelnet(b.Board, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (r *rawConn) banner() []string {
	r.t.Helper()
	lines := []string{r.line(), r.line(), r.line()}
	return lines
}

func TestTelnetBannerShellAndFlash(t *testing.T) {
	b, _ := startRTTBoard(t, sim.BoardConfig{SerialNumber: "000960000777"})
	srv := startTelnet(t, b, sim.TelnetOptions{})
	c := dialRaw(t, srv.Addr())
	// The config string goes out at once, inside the 100 ms window.
	c.send("$$SEGGER_TELNET_ConfigStr=RTTCh;0;SetRTTSearchRanges;0x20000000 0x40000$$")
	lines := c.banner()
	if !strings.HasPrefix(lines[0], "SEGGER J-Link V") || !strings.HasSuffix(lines[0], " - Real time terminal output\r\n") ||
		!strings.Contains(lines[1], "SN=000960000777") || lines[2] != "Process: JLinkGDBServerCLExe\r\n" {
		t.Fatalf("banner %q", lines)
	}
	var out bytes.Buffer
	c.expect(&out, "mosh:~$ ")
	if strings.Contains(out.String(), "SEGGER_TELNET") {
		t.Fatalf("the config string reached the shell: %q", out.String())
	}
	out.Reset()
	c.send("at AT+CGMR\r\n")
	if got := c.expect(&out, "OK\r\n"); !strings.Contains(got, "mfw_nrf9160_1.3") {
		t.Fatalf("answer %q", got)
	}

	// A flash moves the control block; the endpoint finds it again on the same connection.
	before, err := b.RTTAddress(b.ctx())
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := sim.ServeControl(b.Board)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	if _, err := (sim.ControlClient{Path: ctl.Path()}).Do(b.ctx(), sim.ControlRequest{Op: "flash", Personality: "modem_shell"}); err != nil {
		t.Fatal(err)
	}
	after, err := b.RTTAddress(b.ctx())
	if err != nil || after == before {
		t.Fatalf("block at %#x before the flash, %#x after (%v)", before, after, err)
	}
	out.Reset()
	c.expect(&out, "mosh:~$ ")
	out.Reset()
	c.send("at AT+CGMI\r\n")
	if got := c.expect(&out, "OK\r\n"); !strings.Contains(got, "Nordic") {
		t.Fatalf("answer after the flash %q", got)
	}
}

// TestTelnetLateConfigIsData: a config string after the window is RTT data (here the window is
// already over when the client writes), so the shell gets and echoes it.
func TestTelnetLateConfigIsData(t *testing.T) {
	b, _ := startRTTBoard(t, sim.BoardConfig{})
	srv := startTelnet(t, b, sim.TelnetOptions{ConfigWindow: time.Nanosecond})
	c := dialRaw(t, srv.Addr())
	c.banner()
	var out bytes.Buffer
	c.expect(&out, "mosh:~$ ")
	c.send("$$SEGGER_TELNET_ConfigStr=RTTCh;1$$\r\n")
	if got := c.expect(&out, "command not found"); !strings.Contains(got, "$$SEGGER_TELNET_ConfigStr=RTTCh;1$$") {
		t.Fatalf("late config string was not data: %q", got)
	}
}

func TestTelnetGUIServer(t *testing.T) {
	b, _ := startRTTBoard(t, sim.BoardConfig{})
	srv := startTelnet(t, b, sim.TelnetOptions{GUIServer: true})
	c := dialRaw(t, srv.Addr())
	var out bytes.Buffer
	if got := c.expect(&out, ";"); !strings.HasPrefix("J-Link GUI server; V6.80d;", got) {
		t.Fatalf("stale GUI server said %q", got)
	}
	c.send("at AT\r\n")
	if st := b.state(); st.Stats.RTTDownBytes != 0 {
		t.Fatalf("a GUI server moved RTT data: %+v", st.Stats)
	}
}

// TestRTTLargeReadBackArrivesWhole: a 1.9 KB certificate read back through the 1024-byte up
// buffer arrives whole: the shell writes in pieces and waits for the host to free space.
func TestRTTLargeReadBackArrivesWhole(t *testing.T) {
	b, _ := startRTTBoard(t, sim.BoardConfig{})
	srv := startTelnet(t, b, sim.TelnetOptions{Poll: 5 * time.Millisecond})
	c := dialRaw(t, srv.Addr())
	c.banner()
	var out bytes.Buffer
	c.expect(&out, "mosh:~$ ")
	var cert strings.Builder
	cert.WriteString("-----BEGIN CERTIFICATE-----\n")
	for i := 0; cert.Len() < 1900; i++ {
		fmt.Fprintf(&cert, "%064d\n", i)
	}
	cert.WriteString("-----END CERTIFICATE-----\n")
	for _, cmd := range []string{"at AT+CFUN=4", `at 'AT%CMNG=0,42,0,"` + strings.ReplaceAll(cert.String(), "\n", `\n`) + `"'`} {
		out.Reset()
		c.send(cmd + "\r\n")
		if got := c.expect(&out, "mosh:~$ "); !strings.Contains(got, "OK\r\n") {
			t.Fatalf("%.30s…: %q", cmd, got)
		}
	}
	out.Reset()
	c.send("at AT%CMNG=2,42,0\r\n")
	got := c.expect(&out, "OK\r\n")
	want := strings.ReplaceAll(cert.String(), "\n", "\r\n")
	if !strings.Contains(got, `%CMNG: 42,0,"`) || !strings.Contains(got, want) {
		t.Fatalf("read-back of %d bytes: got %d bytes: %q", len(want), len(got), got)
	}
	if st := b.state(); st.Stats.RTTUpDropped != 0 {
		t.Fatalf("up output dropped: %+v", st.Stats)
	}
}

type tclConn struct{ *rawConn }

func (c tclConn) cmd(s string) string {
	c.t.Helper()
	c.send(s + "\x1a")
	c.c.SetReadDeadline(time.Now().Add(testTimeout))
	r, err := c.r.ReadString(0x1a)
	if err != nil {
		c.t.Fatalf("tcl %q: %v", s, err)
	}
	return strings.TrimSuffix(r, "\x1a")
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestOpenOCDTclAndRTTServer(t *testing.T) {
	b, _ := startRTTBoard(t, sim.BoardConfig{})
	srv, err := sim.ServeOpenOCD(b.Board)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tcl := tclConn{dialRaw(t, srv.Addr())}
	if r := tcl.cmd("frobnicate 1"); r != `invalid command name "frobnicate"` {
		t.Fatalf("unknown command: %q", r)
	}
	if r := tcl.cmd("rtt channels"); !strings.Contains(r, "not available") {
		t.Fatalf("channels before start: %q", r)
	}
	// A range without the block: not found.
	if r := tcl.cmd("rtt setup 0x20000000 0x10 \"SEGGER RTT\""); r != "" {
		t.Fatalf("setup: %q", r)
	}
	if r := tcl.cmd("rtt start"); r != "rtt: No control block found" {
		t.Fatalf("start over 16 bytes: %q", r)
	}
	tcl.cmd("rtt setup 0x20000000 0x40000 {SEGGER RTT}")
	want, err := b.RTTAddress(b.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if r := tcl.cmd("rtt start"); r != fmt.Sprintf("rtt: Control block found at 0x%08x", want) {
		t.Fatalf("start: %q", r)
	}
	if r := tcl.cmd("rtt channels"); !strings.HasPrefix(r, "Channels: up=3, down=3\nUp-channels:\n0: Terminal 1024 0\nDown-channels:\n0: Terminal 32 0") {
		t.Fatalf("channels: %q", r)
	}
	tcl.cmd("rtt polling_interval 2")
	if r := tcl.cmd("rtt polling_interval"); r != "2" {
		t.Fatalf("polling_interval: %q", r)
	}
	port := freePort(t)
	if r := tcl.cmd("rtt server start " + port + " 0 hello"); r != "" {
		t.Fatalf("server start: %q", r)
	}
	if r := tcl.cmd("rtt server start " + port + " 0"); !strings.Contains(r, "already in use") {
		t.Fatalf("second server on %s: %q", port, r)
	}
	c := dialRaw(t, "127.0.0.1:"+port)
	if l := c.line(); l != "hello\n" {
		t.Fatalf("greeting %q", l)
	}
	var out bytes.Buffer
	c.expect(&out, "mosh:~$ ")
	out.Reset()
	c.send("at AT+CGMR\r\n")
	c.expect(&out, "OK\r\n")

	// reset run reboots the board; a warm reset keeps the block, so RTT goes on.
	boots := b.state().Stats.Boots
	if r := tcl.cmd("reset run"); r != "" {
		t.Fatalf("reset run: %q", r)
	}
	if st := b.state(); st.Stats.Boots != boots+1 {
		t.Fatalf("boots %d after reset run, want %d", st.Stats.Boots, boots+1)
	}
	out.Reset()
	c.expect(&out, "mosh:~$ ")
	// reset halt: the core stops, so it drains nothing.
	tcl.cmd("reset halt")
	if h, err := b.Halted(b.ctx()); err != nil || !h {
		t.Fatalf("halted %v %v after reset halt", h, err)
	}
	tcl.cmd("resume")

	// Stopping the server ends its connection.
	tcl.cmd("rtt server stop " + port)
	c.c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.r.ReadString(0); err == nil {
		t.Fatal("connection survived rtt server stop")
	}
}

// TestRTTUnreadOutputIsDroppedAfterAStall: with no host reading the up channel, output waits
// while there is hope and is given up after the stall time (counted), so the shell is not
// wedged: once the host reads again, new commands are answered.
func TestRTTUnreadOutputIsDroppedAfterAStall(t *testing.T) {
	b, srv := startRTTBoard(t, sim.BoardConfig{})
	g := dialRSP(t, srv.Addr())
	_, up, down := g.attach(t, b)
	// Fill the up buffer without reading it: each answer is about 40 bytes.
	for i := 0; i < 40; i++ {
		g.downWrite(down, []byte("at AT+CGMR\r\n"))
	}
	deadline := time.Now().Add(testTimeout)
	for b.state().Stats.RTTUpDropped == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing dropped with nobody reading: %+v", b.state().Stats)
		}
	}
	var out bytes.Buffer
	g.upRead(up) // free the buffer
	g.downWrite(down, []byte("at AT+CGMI\r\n"))
	g.upExpect(up, &out, "Nordic")
}
