package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// TestRTTOverGDBToVirtualBoard: the host's RTT engine, through its GDB remote-protocol client,
// finds the control block in a virtual board's RAM over real TCP, sends a Modem Shell command
// through the small down buffer the firmware drains every 10 ms, and reads the answer from
// the up buffer. The board's RTT and GDB server and the host's engine and client are two
// independent readings of the same spec.
func TestRTTOverGDBToVirtualBoard(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000200", Personality: sim.ModemShell, RTT: true})
	srv := serveGDB(t, b)
	ctx := ctxT(t)
	c, err := gdb.Dial(ctx, srv.Addr(), gdb.Options{NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cb, err := rtt.Attach(ctx, c, rtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if want, err := b.RTTAddress(ctx); err != nil || cb.Addr() != want {
		t.Fatalf("engine found the block at 0x%08x, the board put it at 0x%08x (%v)", cb.Addr(), want, err)
	}
	up, err := cb.Up(rtt.Named("Terminal"))
	if err != nil {
		t.Fatal(err)
	}
	down, err := cb.Down(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	w := &rtt.Writer{Ch: down, Poll: time.Millisecond}
	cmd := "at AT+CGMR\r\n"
	if n, err := w.Write(ctx, []byte(cmd)); err != nil || n != len(cmd) {
		t.Fatalf("wrote %d of %d: %v", n, len(cmd), err)
	}
	var got strings.Builder
	buf := make([]byte, 512)
	for !strings.Contains(got.String(), "OK") {
		if ctx.Err() != nil {
			t.Fatalf("no answer over RTT; up channel so far: %q", got.String())
		}
		n, err := up.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		got.Write(buf[:n])
	}
	if !strings.Contains(got.String(), "mfw_nrf9160_1.3.5") {
		t.Fatalf("answer over RTT: %q", got.String())
	}
}

// TestProvisionOverRTTRecoversThroughTheDebugger: `nrfprov --transport rtt` provisions a Modem
// Shell board through its debugger's GDB server; when the modem hangs in the middle, nrfprov
// resets the board through the transport's own reset capability (monitor reset), finds the
// control block again, re-plans and ends verified.
func TestProvisionOverRTTRecoversThroughTheDebugger(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000201", Personality: sim.ModemShell, RTT: true})
	srv := serveGDB(t, b)
	m, files := credSet(t, 33, "crlf", "")
	// Let the connection and the first write through, then hang the modem.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang", Count: 9}); err != nil {
		t.Fatal(err)
	}
	rep := provisionJSON(t, 0, "--transport", "rtt", "--port", srv.Addr(), "--modem-latency", "500ms", "provision", "-m", m)
	if rep.Recoveries < 1 || len(rep.Results) != 3 {
		t.Fatalf("over RTT: %+v", rep)
	}
	for _, res := range rep.Results {
		name := map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]
		// Through the shell, line breaks are stored as CR LF.
		if res.Outcome != "verified" || res.SHA256 != sha(strings.ReplaceAll(files[name], "\n", "\r\n")) {
			t.Fatalf("over RTT: %+v", rep.Results)
		}
	}
	again := provisionJSON(t, 0, "--transport", "rtt", "--port", srv.Addr(), "provision", "-m", m)
	if again.Writes != 0 {
		t.Fatalf("second run over RTT wrote %d", again.Writes)
	}
}

// TestRTTOnATClientSaysWhatToFlash: the at_client sample has no RTT, so a debugger finds no
// control block in its RAM. nrfprov stops with the "no board" exit code and says which firmware
// answers AT over RTT, instead of a bare "not found".
func TestRTTOnATClientSaysWhatToFlash(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000202", Personality: sim.ATClient, RTT: true})
	srv := serveGDB(t, b)
	fails(t, 4, []string{"--transport", "rtt", "--port", srv.Addr(), "list"},
		"at_client sample has no RTT", "CONFIG_SHELL_BACKEND_RTT=y", "--transport serial")
}

// TestProvisionOverRTTInterruptHalt: against a GDB server that touches memory only while the
// core is halted, `--transport-opt halt=interrupt` provisions with the protocol's own run
// control (0x03, stop reply, c), one halt per poll; without a halt mode the same server refuses.
func TestProvisionOverRTTInterruptHalt(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000203", Personality: sim.ModemShell, RTT: true, MemoryNeedsHalt: true})
	srv := serveGDB(t, b)
	m, files := credSet(t, 34, "crlf", "")
	r := runNrfprov(t, "", "--transport", "rtt", "--port", srv.Addr(), "list")
	if r.code == 0 {
		t.Fatalf("list without a halt mode on a server that needs one: exit 0\n%s", r.stdout)
	}
	rep := provisionJSON(t, 0, "--transport", "rtt", "--port", srv.Addr(), "--transport-opt", "halt=interrupt", "provision", "-m", m)
	if rep.Writes != 3 {
		t.Fatalf("halt=interrupt: %+v", rep)
	}
	for _, res := range rep.Results {
		name := map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]
		if res.Outcome != "verified" || res.SHA256 != sha(strings.ReplaceAll(files[name], "\n", "\r\n")) {
			t.Fatalf("halt=interrupt: %+v", rep.Results)
		}
	}
	// Detaching left the core running: the shell still polls its down buffer.
	if h, err := b.Halted(ctxT(t)); err != nil || h {
		t.Fatalf("after nrfprov: halted %v (%v)", h, err)
	}
}
