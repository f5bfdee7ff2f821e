package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// These tests run the real nrfsim executable: flags, the JSON lines, the control socket, signal
// handling, and persistence of the modem's NVM across process restarts.

var nrfsimBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nrfsim-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nrfsimBin = filepath.Join(dir, "nrfsim")
	out, err := exec.Command("go", "build", "-race", "-o", nrfsimBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build nrfsim: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines []boardLine
	errb  *bytes.Buffer
}

// startSim runs nrfsim and reads its JSON lines (one per board).
func startSim(t *testing.T, boards int, args ...string) *proc {
	t.Helper()
	return startSimIn(t, "", boards, args...)
}

// startSimIn is startSim with the working directory dir (as a person runs it in a shell).
func startSimIn(t *testing.T, dir string, boards int, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, nrfsimBin, append([]string{"--ready-delay", "10ms"}, args...)...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, errb: &errb}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	sc := bufio.NewScanner(stdout)
	for len(p.lines) < boards && sc.Scan() {
		var l boardLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("nrfsim printed %q: %v", sc.Text(), err)
		}
		p.lines = append(p.lines, l)
	}
	if len(p.lines) < boards {
		cmd.Wait()
		t.Fatalf("nrfsim printed %d board lines, want %d; stderr:\n%s", len(p.lines), boards, errb.String())
	}
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.stopWith(syscall.SIGTERM)
}

// stopWith sends sig and waits for a clean exit.
func (p *proc) stopWith(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("nrfsim exit after %v: %v; stderr:\n%s", sig, err, p.errb.String())
	}
}

// exchange opens a board's VCOM0 and runs commands, returning each response up to its final
// result line. It waits for "Ready" first.
func exchange(t *testing.T, path string, cmds ...string) []string {
	t.Helper()
	port, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer port.Close()
	port.SetReadTimeout(20 * time.Millisecond)
	var got []byte
	readUntil := func(pred func(string) (int, bool)) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		buf := make([]byte, 1024)
		for {
			if n, ok := pred(string(got)); ok {
				s := string(got[:n])
				got = got[n:]
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out; received %q", path, got)
			}
			n, err := port.Read(buf)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			got = append(got, buf[:n]...)
		}
	}
	readUntil(func(s string) (int, bool) {
		i := strings.Index(s, "Ready\r\n")
		return i + len("Ready\r\n"), i >= 0
	})
	var out []string
	for _, c := range cmds {
		if _, err := port.Write([]byte(c + "\r")); err != nil {
			t.Fatal(err)
		}
		out = append(out, readUntil(func(s string) (int, bool) {
			for _, f := range []string{"OK\r\n", "ERROR\r\n"} {
				if i := strings.Index(s, f); i >= 0 {
					return i + len(f), true
				}
			}
			if i := strings.Index(s, "+CME ERROR: "); i >= 0 {
				if j := strings.Index(s[i:], "\r\n"); j >= 0 {
					return i + j + 2, true
				}
			}
			return 0, false
		}))
	}
	return out
}

func control(t *testing.T, path string, req sim.ControlRequest) *sim.State {
	t.Helper()
	st, err := sim.ControlClient{Path: path, Timeout: 10 * time.Second}.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("control %s: %v", req.Op, err)
	}
	return st
}

func upperSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestPersistenceAcrossRestart: with --state, a credential written through the PTY is still
// there, with the same hash, after nrfsim is stopped and started again; without the same state
// directory it is not.
func TestPersistenceAcrossRestart(t *testing.T) {
	state := t.TempDir()
	runDir := t.TempDir()
	p := startSim(t, 1, "--state", state, "--run-dir", runDir)
	l := p.lines[0]
	if l.SerialNumber != "000960000001" || l.VCOM0 != filepath.Join(runDir, "000960000001-vcom0") || l.Control == "" || !strings.HasPrefix(l.PTY, "/dev/pts/") {
		t.Fatalf("unexpected board line %+v", l)
	}
	got := exchange(t, l.VCOM0, "AT+CFUN=4", `AT%CMNG=0,42,4,"persist-me"`)
	if got[1] != "OK\r\n" {
		t.Fatalf("write: %q", got[1])
	}
	p.stop()
	// A clean stop removes the port link and the control socket.
	for _, f := range []string{l.VCOM0, l.Control} {
		if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s still exists after SIGTERM (err %v)", f, err)
		}
	}

	p2 := startSim(t, 1, "--state", state, "--run-dir", runDir)
	want := fmt.Sprintf("%%CMNG: 42,4,\"%s\"\r\nOK\r\n", upperSHA("persist-me"))
	if got := exchange(t, p2.lines[0].VCOM0, "AT%CMNG=1,42"); got[0] != want {
		t.Fatalf("after restart: %q, want %q", got[0], want)
	}
	st := control(t, p2.lines[0].Control, sim.ControlRequest{Op: "state"})
	if len(st.Credentials) != 1 || st.Credentials[0].SHA256 != upperSHA("persist-me") {
		t.Fatalf("state after restart: %+v", st.Credentials)
	}
	p2.stop()

	p3 := startSim(t, 1, "--state", t.TempDir())
	if got := exchange(t, p3.lines[0].VCOM0, "AT%CMNG=1,42"); got[0] != "OK\r\n" {
		t.Fatalf("fresh state directory should be empty: %q", got[0])
	}
	p3.stop()
}

// TestBoardsAndControl: several boards with counting serial numbers, and the control socket's
// flash, state and fault requests, all through the real process. The state dump never carries
// credential contents.
func TestBoardsAndControl(t *testing.T) {
	runDir := t.TempDir()
	p := startSim(t, 3, "--boards", "3", "--serial", "001050912345", "--run-dir", runDir, "--profile", "mfw_nrf91x1_2.0.x")
	for i, l := range p.lines {
		if want := fmt.Sprintf("0010509123%02d", 45+i); l.SerialNumber != want {
			t.Fatalf("board %d serial %s, want %s", i, l.SerialNumber, want)
		}
		if l.Profile != "mfw_nrf91x1_2.0.x" || l.Personality != "at_client" || l.Baud != 115200 {
			t.Fatalf("board line %+v", l)
		}
	}
	ctl := p.lines[1].Control
	secret := "0011223344556677889900aabbccddeeff"
	if got := exchange(t, p.lines[1].VCOM0, "AT+CFUN=4", `AT%CMNG=0,5,3,"`+secret+`"`); got[1] != "OK\r\n" {
		t.Fatalf("write: %q", got)
	}
	// The state is reported by hash; the raw control response never contains the PSK.
	conn, err := (&netDialer{}).dial(ctl)
	if err != nil {
		t.Fatal(err)
	}
	raw := conn.roundTrip(t, `{"op":"state"}`)
	if strings.Contains(raw, secret) || !strings.Contains(raw, upperSHA(secret)) {
		t.Fatalf("state response must carry the hash and never the content: %s", raw)
	}
	if r := conn.roundTrip(t, `{"op":"no-such-op"}`); !strings.Contains(r, `"ok":false`) || !strings.Contains(r, "unknown control op") {
		t.Fatalf("bad op answer: %s", r)
	}
	if r := conn.roundTrip(t, `not json`); !strings.Contains(r, "bad request") {
		t.Fatalf("bad json answer: %s", r)
	}
	conn.close()

	// Flash an application hex: the board stops answering AT; flash at_client back: it answers.
	appHex := filepath.Join(t.TempDir(), "app.hex")
	f, err := os.Create(appHex)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteFirmwareHex(f, sim.Application, "v1"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	control(t, ctl, sim.ControlRequest{Op: "flash", Hex: appHex})
	st := control(t, ctl, sim.ControlRequest{Op: "state"})
	if st.Firmware.Personality != sim.Application || st.Firmware.ImageName != "app.hex" || len(st.Firmware.ImageSHA256) != 64 {
		t.Fatalf("after flashing app.hex: %+v", st.Firmware)
	}
	control(t, ctl, sim.ControlRequest{Op: "flash", Personality: "at_client"})
	if got := exchange(t, p.lines[1].VCOM0, "AT+CGMR"); got[0] != "mfw_nrf91x1_2.0.2\r\nOK\r\n" {
		t.Fatalf("CGMR after flashing at_client back: %q", got[0])
	}
	// Faults through the socket: a bad one is refused with a reason.
	if _, err := (sim.ControlClient{Path: ctl}).Do(context.Background(), sim.ControlRequest{Op: "fault", Fault: &sim.Fault{Kind: "drop", Probability: 2}}); err == nil || !strings.Contains(err.Error(), "probability") {
		t.Fatalf("bad fault accepted: %v", err)
	}
	control(t, ctl, sim.ControlRequest{Op: "fault", Fault: &sim.Fault{Kind: "power_off_warning", Enabled: true}})
	control(t, ctl, sim.ControlRequest{Op: "reset"}) // exchange waits for a fresh "Ready"
	if got := exchange(t, p.lines[1].VCOM0, "AT+CMEE=1", "AT%CMNG=2,5,3"); got[1] != "+CME ERROR: 528\r\n" {
		t.Fatalf("with the power-off warning: %q", got[1])
	}
	p.stop()
}

// TestBadFlags: invalid options are rejected before any board starts, with a message naming
// the flag.
// TestListenSocket: --listen makes each board's UART a TCP socket, announced in its JSON line
// (with no vcom0 or pty); Modem Shell answers on it.
func TestListenSocket(t *testing.T) {
	p := startSim(t, 2, "--boards", "2", "--personality", "modem_shell", "--listen", "tcp:127.0.0.1:0")
	if p.lines[0].Socket == p.lines[1].Socket || p.lines[0].VCOM0 != "" || p.lines[0].PTY != "" {
		t.Fatalf("board lines: %+v", p.lines)
	}
	for _, l := range p.lines {
		addr, ok := strings.CutPrefix(l.Socket, "tcp:127.0.0.1:")
		if !ok {
			t.Fatalf("serial_socket %q", l.Socket)
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte("at AT+CGSN\r\n")); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		var got strings.Builder
		for !strings.HasSuffix(got.String(), "OK\r\n") {
			b, err := r.ReadByte()
			if err != nil {
				t.Fatalf("%s: got %q: %v", l.Socket, got.String(), err)
			}
			got.WriteByte(b)
		}
		c.Close()
		if !strings.Contains(got.String(), "35") { // an IMEI
			t.Fatalf("%s: %q", l.Socket, got.String())
		}
	}
	p.stop()
}

func TestBadFlags(t *testing.T) {
	cases := map[string][]string{
		"--profile":     {"--profile", "mfw_nrf9999_9.9"},
		"--personality": {"--personality", "zephyr"},
		"--termination": {"--termination", "crcr"},
		"--boards":      {"--boards", "0"},
		"--serial":      {"--serial", "abc"},
		"baud":          {"--baud", "10"},
		"--listen":      {"--listen", "udp:127.0.0.1:0"},
		"--listen ":     {"--listen", "tcp:127.0.0.1:4000", "--boards", "2"},
	}
	for name, args := range cases {
		var out, errb bytes.Buffer
		code := run(append(args, "--run-dir", t.TempDir()), &out, &errb)
		if code == 0 || out.Len() != 0 || !strings.Contains(errb.String(), strings.TrimPrefix(name, "--")) {
			t.Errorf("%s: code %d, stdout %q, stderr %q", name, code, out.String(), errb.String())
		}
	}
}

type netDialer struct{}

type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func (netDialer) dial(path string) (*rawConn, error) {
	c, err := net.DialTimeout("unix", path, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{c: c, r: bufio.NewReader(c)}, nil
}

// roundTrip sends one request line and returns the raw answer line.
func (c *rawConn) roundTrip(t *testing.T, line string) string {
	t.Helper()
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (c *rawConn) close() { c.c.Close() }
