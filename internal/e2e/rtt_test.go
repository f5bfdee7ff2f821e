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
// through the 16-byte down buffer the firmware drains every 10 ms, and reads the answer from
// the up buffer. The board's RTT and GDB server and the host's engine and client are two
// independent readings of the same spec.
func TestRTTOverGDBToVirtualBoard(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000200", Personality: sim.ModemShell, RTT: true})
	srv, err := sim.ServeGDB(b)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
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
