package openocd

import (
	"errors"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/rtt"
)

const testTimeout = 10 * time.Second

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(testTimeout)

func openocdBoard(t *testing.T) (*sim.Board, *Client) {
	t.Helper()
	b := simtest.Board(t, sim.BoardConfig{SerialNumber: "000960000911", Personality: sim.ModemShell, RTT: true})
	s, err := sim.ServeOpenOCD(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := Dial(ctxT(t), s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return b, c
}

func readUntil(t *testing.T, c net.Conn, want string) string {
	t.Helper()
	return testsupport.ReadUntil(t, c, want, testTimeout)
}

func TestStartRTTExchangeResetAndClose(t *testing.T) {
	b, c := openocdBoard(t)
	r, err := c.StartRTT(ctxT(t), RTTConfig{Poll: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	at, err := b.RTTAddress(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(r.ControlBlock, "0x"+strconv.FormatUint(uint64(at)|1<<32, 16)[1:]) {
		t.Fatalf("rtt start said %q, the block is at %#x", r.ControlBlock, at)
	}
	readUntil(t, r, "mosh:~$ ")
	r.Write([]byte("at AT+CGMR\r\n"))
	if got := readUntil(t, r, "OK\r\n"); !strings.Contains(got, "mfw_nrf9160") {
		t.Fatalf("answer %q", got)
	}

	// A hung modem: reset run brings the shell back on the same stream.
	if err := b.InjectFault(ctxT(t), sim.Fault{Kind: "hang"}); err != nil {
		t.Fatal(err)
	}
	r.Write([]byte("at AT+CGMI\r\n"))
	readUntil(t, r, "at AT+CGMI")
	boots := func() uint64 {
		st, err := b.State(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return st.Stats.Boots
	}
	before := boots()
	if err := r.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if boots() != before+1 {
		t.Fatal("Reset did not reboot the board")
	}
	readUntil(t, r, "mosh:~$ ")
	r.Write([]byte("at AT+CGMI\r\n"))
	readUntil(t, r, "Nordic")

	port := r.Port()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), testTimeout); err == nil {
		conn.Close()
		t.Fatal("the RTT server still listens after Close")
	}
}

func TestErrors(t *testing.T) {
	_, c := openocdBoard(t)
	if _, err := c.Exec(ctxT(t), "frobnicate"); !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), `invalid command name "frobnicate"`) {
		t.Fatalf("unknown command: %v", err)
	}
	_, err := c.StartRTT(ctxT(t), RTTConfig{Search: rtt.Range{Start: 0x20000000, Size: 0x10}, Attach: 100 * time.Millisecond})
	if !errors.Is(err, ErrNoControlBlock) {
		t.Fatalf("a range without the block: %v", err)
	}
	if _, err := c.StartRTT(ctxT(t), RTTConfig{ID: `SEGGER"RTT`}); err == nil {
		t.Fatal("an ID with a quote was sent")
	}
	// The client still works after those.
	if r, err := c.Command(ctxT(t), "rtt polling_interval"); err != nil || r != "100" {
		t.Fatalf("polling_interval %q %v", r, err)
	}
}
