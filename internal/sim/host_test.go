package sim_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// The tests in this package drive boards the way a host tool does: through the board's real
// pseudo-terminal, opened with go.bug.st/serial, with raw bytes. The control API is used only
// to set a board up (faults, resets) and to observe it (state), never to send AT commands.

// testTimeout bounds every wait; a correct board answers in milliseconds, so hitting it means
// a failure, not a slow machine.
const testTimeout = 10 * time.Second

type testBoard struct {
	*sim.Board
	t testing.TB
}

func startBoard(t testing.TB, cfg sim.BoardConfig) *testBoard {
	t.Helper()
	if cfg.RunDir == "" {
		cfg.RunDir = t.TempDir()
	}
	if cfg.ReadyDelay == 0 {
		cfg.ReadyDelay = 20 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	b, err := sim.StartBoard(ctx, cfg)
	if err != nil {
		t.Fatalf("start board: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return &testBoard{Board: b, t: t}
}

func (b *testBoard) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	b.t.Cleanup(cancel)
	return ctx
}

func (b *testBoard) state() sim.State {
	b.t.Helper()
	st, err := b.State(b.ctx())
	if err != nil {
		b.t.Fatalf("state: %v", err)
	}
	return st
}

func (b *testBoard) fault(f sim.Fault) {
	b.t.Helper()
	if err := b.InjectFault(b.ctx(), f); err != nil {
		b.t.Fatalf("fault %s: %v", f.Kind, err)
	}
}

func (b *testBoard) reset() {
	b.t.Helper()
	if err := b.Reset(b.ctx()); err != nil {
		b.t.Fatalf("reset: %v", err)
	}
}

// waitIdle waits until the board has received rx bytes in total, processed all of them, and is
// not executing a command (or is hung). It polls the board's state: a condition, not a sleep.
func (b *testBoard) waitIdle(rx uint64) sim.State {
	b.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := b.state()
		if st.Stats.RxBytes >= rx && st.RXQueued == 0 && (!st.Busy || st.Hung) {
			return st
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("board did not settle: %+v", st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// host is the host side of a VCOM port.
type host struct {
	t    testing.TB
	p    serial.Port
	got  bytes.Buffer // everything received
	read int          // bytes of got already consumed by expect
	sent uint64
}

func openHost(t testing.TB, path string, baud int) *host {
	t.Helper()
	if baud == 0 {
		baud = 115200
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: baud})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := p.SetReadTimeout(20 * time.Millisecond); err != nil {
		t.Fatalf("read timeout: %v", err)
	}
	h := &host{t: t, p: p}
	t.Cleanup(func() { p.Close() })
	return h
}

func (h *host) write(s string) {
	h.t.Helper()
	n, err := h.p.Write([]byte(s))
	if err != nil || n != len(s) {
		h.t.Fatalf("write: %d of %d bytes: %v", n, len(s), err)
	}
	h.sent += uint64(n)
}

// fill reads what has arrived; it returns an error when the port went away.
func (h *host) fill() error {
	buf := make([]byte, 4096)
	n, err := h.p.Read(buf)
	h.got.Write(buf[:n])
	return err
}

// expect reads until want appears after what earlier expects consumed, and returns everything
// up to and including it.
func (h *host) expect(want string) string {
	h.t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		rest := h.got.Bytes()[h.read:]
		if i := bytes.Index(rest, []byte(want)); i >= 0 {
			h.read += i + len(want)
			return string(rest[:i+len(want)])
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %q; received after the last match: %q", want, rest)
		}
		if err := h.fill(); err != nil {
			h.t.Fatalf("read while waiting for %q: %v", want, err)
		}
	}
}

// cmd sends a command with a CR and returns the response up to and including its final result
// line.
func (h *host) cmd(c string) string {
	h.t.Helper()
	h.write(c + "\r")
	return h.final()
}

var finals = []string{"OK\r\n", "ERROR\r\n"}

// final reads one response up to its final result code.
func (h *host) final() string {
	h.t.Helper()
	s, _, _ := h.timedFinal()
	return s
}

// timedFinal reads one response up to its final result code and also returns when its first
// and its last bytes arrived.
func (h *host) timedFinal() (resp string, first, last time.Time) {
	h.t.Helper()
	deadline := time.Now().Add(testTimeout)
	if h.got.Len() > h.read {
		first = time.Now()
	}
	for {
		rest := string(h.got.Bytes()[h.read:])
		best := -1
		for _, f := range finals {
			// A final result code is a whole line.
			for off := 0; ; {
				i := strings.Index(rest[off:], f)
				if i < 0 {
					break
				}
				at := off + i
				if at == 0 || rest[at-1] == '\n' || strings.HasSuffix(rest[:at], "+CME ") {
					end := at + len(f)
					if best < 0 || end < best {
						best = end
					}
					break
				}
				off = at + 1
			}
		}
		if i := strings.Index(rest, "+CME ERROR: "); i >= 0 && (i == 0 || rest[i-1] == '\n') {
			if j := strings.Index(rest[i:], "\r\n"); j >= 0 && (best < 0 || i+j+2 < best) {
				best = i + j + 2
			}
		}
		if best >= 0 {
			h.read += best
			return rest[:best], first, last
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for a final result; received: %q", rest)
		}
		before := h.got.Len()
		if err := h.fill(); err != nil {
			h.t.Fatalf("read: %v", err)
		}
		if h.got.Len() > before {
			last = time.Now()
			if first.IsZero() {
				first = last
			}
		}
	}
}

// pending returns what arrived and was not consumed yet, after draining the port briefly.
func (h *host) pending() string {
	h.fill()
	return string(h.got.Bytes()[h.read:])
}

// drain reads whatever the board sends until it goes quiet for a read timeout, and returns it.
// Used only where a test has already established (through the board's state) that the board
// is done sending.
func (h *host) drain() string {
	for {
		before := h.got.Len()
		if err := h.fill(); err != nil || h.got.Len() == before {
			break
		}
	}
	s := string(h.got.Bytes()[h.read:])
	h.read = h.got.Len()
	return s
}

// boot waits for the at_client boot output and consumes it.
func (h *host) bootATClient() {
	h.t.Helper()
	h.expect("The AT host sample started\r\n")
	h.expect("Ready\r\n")
}

// portGone reports whether reading now fails the way a vanished port does.
func portGone(err error) bool {
	var pe *serial.PortError
	return err != nil && (errors.As(err, &pe) || strings.Contains(err.Error(), "input/output"))
}
