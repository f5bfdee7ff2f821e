package sim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"os"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// Each fault kind (see sim.Fault), observed through the pseudo-terminal. The control API only
// injects faults and reads state.

// TestFaultDropToDevice: a byte lost on the way to the device corrupts the command, which
// answers ERROR; the fault then runs out and the next command is fine.
func TestFaultDropToDevice(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "drop", Skip: 3, Count: 1}) // the 'C' of AT+CFUN?
	a2Want(t, b, h, "AT+CFUN?", "ERROR\r\n")
	st := b.state()
	if st.Stats.DroppedFault != 1 || st.Stats.RxBytes != h.sent-1 {
		t.Fatalf("dropped %d, rx %d of %d sent; want exactly one byte lost", st.Stats.DroppedFault, st.Stats.RxBytes, h.sent)
	}
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
}

// TestFaultDropFromDevice: a byte lost on the way to the host.
func TestFaultDropFromDevice(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "drop", Dir: "from_device", Count: 1})
	a2Write(t, b, h, "AT\r")
	if got := h.expect("K\r\n"); got != "K\r\n" {
		t.Fatalf("response with its first byte dropped: %q, want %q", got, "K\r\n")
	}
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestFaultCorrupt: one bit flipped in one byte, in either direction.
func TestFaultCorrupt(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()

	// To the device: every single-bit flip of the '?' in AT+CFUN? makes an invalid command.
	for seed := int64(1); seed <= 4; seed++ {
		b.fault(sim.Fault{Kind: "corrupt", Skip: 7, Count: 1, Seed: seed})
		a2Want(t, b, h, "AT+CFUN?", "ERROR\r\n")
	}
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")

	// From the device: the response arrives with exactly one bit changed in its first byte.
	b.fault(sim.Fault{Kind: "corrupt", Dir: "from_device", Count: 1, Seed: 7})
	a2Write(t, b, h, "AT\r")
	got := h.expect("K\r\n")
	if len(got) != 4 || got[1:] != "K\r\n" || bits.OnesCount8(got[0]^'O') != 1 {
		t.Fatalf("corrupted response %q, want \"OK\\r\\n\" with one bit flipped in the first byte", got)
	}
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestDocFaultCorruptIsCounted: the state's counter is documented as
// "dropped_or_corrupted_by_fault"; a corrupted byte must count like a dropped one.
func TestDocFaultCorruptIsCounted(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "corrupt", Skip: 7, Count: 1, Seed: 1})
	a2Want(t, b, h, "AT+CFUN?", "ERROR\r\n")
	if st := b.state(); st.Stats.DroppedFault != 1 {
		t.Fatalf("dropped_or_corrupted_by_fault = %d after one corrupted byte, want 1", st.Stats.DroppedFault)
	}
}

// TestFaultURCIdle: a notification on an idle line comes out at once, alone (§2.5).
func TestFaultURCIdle(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "urc", Text: "+CEREG: 2"})
	if got := h.expect("+CEREG: 2\r\n"); got != "+CEREG: 2\r\n" {
		t.Fatalf("URC on an idle line: %q", got)
	}
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestSpecSLMURCFraming: the Serial LTE Modem frames notifications V.250 style, "prefixed by
// \r\n" (§3.1), like its responses.
func TestSpecSLMURCFraming(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.SerialLTEModem})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("Ready\r\n")
	b.fault(sim.Fault{Kind: "urc", Text: "+CEREG: 2"})
	if got := h.expect("+CEREG: 2\r\n"); got != "\r\n+CEREG: 2\r\n" {
		t.Fatalf("URC on SLM: %q, want %q", got, "\r\n+CEREG: 2\r\n")
	}
}

// TestFaultURCInterleaved: a notification that arrives while a command executes lands between
// the lines of its multi-line response (§2.5: "can interleave with command output").
func TestFaultURCInterleaved(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	var want []string
	for tag := 1; tag <= 3; tag++ {
		c := fmt.Sprintf("identity-%d", tag)
		a2Want(t, b, h, fmt.Sprintf(`AT%%CMNG=0,%d,4,"%s"`, tag, c), "OK\r\n")
		want = append(want, fmt.Sprintf(`%%CMNG: %d,4,"%s"`, tag, a2SHA(c)))
	}
	// The modem-owned entries follow the user entries.
	full := strings.Split(strings.TrimSuffix(a2Cmd(t, b, h, "AT%CMNG=1"), "\r\n"), "\r\n")
	if len(full) < len(want)+1 || strings.Join(full[:len(want)], "|") != strings.Join(want, "|") {
		t.Fatalf("list without URC: %q", full)
	}

	b.fault(sim.Fault{Kind: "slow", LatencyMS: 300})
	a2Write(t, b, h, "AT%CMNG=1\r")
	deadline := time.Now().Add(testTimeout)
	for !b.state().Busy {
		if time.Now().After(deadline) {
			t.Fatal("the board never started the command")
		}
		time.Sleep(time.Millisecond)
	}
	b.fault(sim.Fault{Kind: "urc", Text: "%XPOFWARN: 1"})
	got := strings.Split(strings.TrimSuffix(h.final(), "\r\n"), "\r\n")
	at := -1
	var rest []string
	for i, l := range got {
		if l == "%XPOFWARN: 1" {
			at = i
			continue
		}
		rest = append(rest, l)
	}
	if at <= 0 || at >= len(got)-1 {
		t.Fatalf("URC at line %d of %q, want it between the lines of the response", at, got)
	}
	if strings.Join(rest, "|") != strings.Join(full, "|") {
		t.Fatalf("response around the URC: %q, want %q", rest, full)
	}
	b.fault(sim.Fault{Kind: "slow"})
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestFaultHang: the chosen command is never answered; later bytes are swallowed while the AT
// host stays busy; a reset recovers (§2.5, §7.2 step 7).
func TestFaultHang(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "hang", Count: 1}) // the second command from now
	a2Want(t, b, h, "AT", "OK\r\n")
	tx := b.state().Stats.TxBytes
	a2Write(t, b, h, "AT+CGMR\r")
	st := b.waitIdle(h.sent)
	if !st.Hung || st.Stats.TxBytes != tx || st.Stats.HungCommands != 1 {
		t.Fatalf("want a hung command and no output; hung=%v hung_commands=%d tx %d -> %d", st.Hung, st.Stats.HungCommands, tx, st.Stats.TxBytes)
	}
	a2Write(t, b, h, "AT\r")
	a2Write(t, b, h, "AT\r")
	a2Silent(t, b, h, h.sent, tx)

	b.reset()
	h.expect("*** Booting nRF Connect SDK")
	h.bootATClient()
	if st := b.state(); st.Hung || st.Busy {
		t.Fatalf("after reset: hung=%v busy=%v", st.Hung, st.Busy)
	}
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
}

// TestFaultSlow: every command takes the extra latency until it is set back to 0.
func TestFaultSlow(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "slow", LatencyMS: 400})
	for i := 0; i < 2; i++ {
		start := time.Now()
		a2Want(t, b, h, "AT", "OK\r\n")
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Fatalf("slow command %d answered after %v, want at least 400ms", i, d)
		}
	}
	b.fault(sim.Fault{Kind: "slow", LatencyMS: 0})
	start := time.Now()
	a2Want(t, b, h, "AT", "OK\r\n")
	if d := time.Since(start); d >= 400*time.Millisecond {
		t.Fatalf("after restoring, AT took %v", d)
	}
}

// TestFaultTruncate: a read-back longer than the limit is cut and has no final result code
// (§2.5); short responses still end with OK.
func TestFaultTruncate(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	cert := a2Cert(t, "truncate")
	a2Want(t, b, h, `AT%CMNG=0,11,0,"`+cert+`"`, "OK\r\n")
	full := fmt.Sprintf("%%CMNG: 11,0,\"%s\",\"%s\"\r\nOK\r\n", a2SHA(cert), cert)
	a2Want(t, b, h, "AT%CMNG=2,11,0", full)

	b.fault(sim.Fault{Kind: "truncate", Bytes: 200})
	a2Write(t, b, h, "AT%CMNG=2,11,0\r")
	st := b.waitIdle(h.sent)
	if st.Busy || st.Hung {
		t.Fatalf("board busy after a truncated response: %+v", st)
	}
	if got := h.expect(full[:200]); got != full[:200] {
		t.Fatalf("truncated read-back: %q, want the first 200 bytes %q", got, full[:200])
	}
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 4\r\nOK\r\n")
	b.fault(sim.Fault{Kind: "truncate"})
	a2Want(t, b, h, "AT%CMNG=2,11,0", full)
}

// TestFaultPowerOffWarning: an active %XPOFWARN blocks write, read and delete with 528 (§1.5,
// F6); plain ERROR with +CMEE=0; list still works; the credential survives.
func TestFaultPowerOffWarning(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,20,4,"kept"`, "OK\r\n")
	b.fault(sim.Fault{Kind: "power_off_warning", Enabled: true})
	for _, c := range []string{`AT%CMNG=0,20,4,"new"`, `AT%CMNG=0,21,4,"other"`, "AT%CMNG=2,20,4", "AT%CMNG=3,20,4"} {
		a2Want(t, b, h, c, "ERROR\r\n")
	}
	a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
	for _, c := range []string{`AT%CMNG=0,20,4,"new"`, `AT%CMNG=0,21,4,"other"`, "AT%CMNG=2,20,4", "AT%CMNG=3,20,4"} {
		a2Want(t, b, h, c, "+CME ERROR: 528\r\n")
	}
	a2Want(t, b, h, "AT%CMNG=1,20", fmt.Sprintf("%%CMNG: 20,4,\"%s\"\r\nOK\r\n", a2SHA("kept")))
	b.fault(sim.Fault{Kind: "power_off_warning", Enabled: false})
	a2Want(t, b, h, "AT%CMNG=2,20,4", fmt.Sprintf("%%CMNG: 20,4,\"%s\",\"kept\"\r\nOK\r\n", a2SHA("kept")))
	a2Want(t, b, h, "AT%CMNG=3,20,4", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=2,20,4", "+CME ERROR: 513\r\n")
}

// TestFaultStoreCapacity: a full store refuses new credentials with 515 (§1.8).
func TestFaultStoreCapacity(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	b.fault(sim.Fault{Kind: "store_capacity", Count: 2})
	a2Want(t, b, h, `AT%CMNG=0,1,4,"a"`, "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,2,4,"b"`, "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,3,4,"c"`, "ERROR\r\n")
	a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,3,4,"c"`, "+CME ERROR: 515\r\n")
	a2Want(t, b, h, "AT%CMNG=2,3,4", "+CME ERROR: 513\r\n")
	// %KEYGEN needs a slot too (515 is among its errors, §1.12).
	a2Want(t, b, h, "AT%KEYGEN=50,2,0", "+CME ERROR: 515\r\n")
	a2Want(t, b, h, "AT%CMNG=1,50", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=3,2,4", "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,3,4,"c"`, "OK\r\n")
	b.fault(sim.Fault{Kind: "store_capacity", Count: 0})
	a2Want(t, b, h, `AT%CMNG=0,4,4,"d"`, "OK\r\n")
}

// TestFaultEcho: with the echo fault the device writes back what it receives before the answer;
// turning it off stops that.
func TestFaultEcho(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "echo", Enabled: true})
	a2Write(t, b, h, "AT+CFUN?\r")
	got := h.expect("OK\r\n")
	if !strings.HasPrefix(got, "AT+CFUN?") || !strings.HasSuffix(got, "+CFUN: 0\r\nOK\r\n") {
		t.Fatalf("with echo: %q, want the echoed command then the response", got)
	}
	b.fault(sim.Fault{Kind: "echo", Enabled: false})
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
}

// TestDocFaultEchoEveryByte: the echo fault is documented as "the device echo[es] every received
// byte"; the terminator is a received byte, so "AT\r" echoes as "AT\r".
func TestDocFaultEchoEveryByte(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "echo", Enabled: true})
	a2Write(t, b, h, "AT\r")
	if got := h.expect("OK\r\n"); got != "AT\rOK\r\n" {
		t.Fatalf("with echo: %q, want %q", got, "AT\rOK\r\n")
	}
}

// TestFaultNoise: random bytes come before the banner of the next boot only (§2.6, §7.1 item 4).
func TestFaultNoise(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "noise", Count: 24, Seed: 3})
	b.reset()
	got := h.expect("*** Booting nRF Connect SDK")
	if n := len(got) - len("*** Booting nRF Connect SDK"); n != 24 {
		t.Fatalf("%d bytes before the banner, want 24: %q", n, got)
	}
	h.bootATClient()
	a2Want(t, b, h, "AT", "OK\r\n")
	b.reset()
	if got := h.expect("*** Booting nRF Connect SDK"); got != "*** Booting nRF Connect SDK" {
		t.Fatalf("noise again on the second reset: %q", got)
	}
	h.bootATClient()
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestFaultUnplugReplug: the cable out removes the port (the host's read fails or returns
// nothing, the path disappears); back in, the same path works, the board boots from power-on
// (CFUN=0) and the credentials are still in NVM.
func TestFaultUnplugReplug(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	a2Want(t, b, h, `AT%CMNG=0,16842753,4,"persist"`, "OK\r\n")

	if err := b.Unplug(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(b.VCOM0()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("VCOM0 path after unplug: %v, want it gone", err)
	}
	buf := make([]byte, 64)
	n, err := h.p.Read(buf)
	if n != 0 {
		t.Fatalf("read %q from an unplugged port", buf[:n])
	}
	t.Logf("read after unplug: n=%d err=%v", n, err)
	if st := b.state(); st.Powered {
		t.Fatal("board still powered after unplug")
	}

	if err := b.Replug(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.VCOM0()); err != nil {
		t.Fatalf("VCOM0 path after replug: %v", err)
	}
	h2 := openHost(t, b.VCOM0(), 0)
	h2.expect("*** Booting nRF Connect SDK")
	h2.bootATClient()
	a2Want(t, b, h2, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
	a2Want(t, b, h2, "AT%CMNG=1,16842753", fmt.Sprintf("%%CMNG: 16842753,4,\"%s\"\r\nOK\r\n", a2SHA("persist")))
}

// TestDocUnplugHostSeesHangup: the model documents that on unplug "the host's open handle sees
// a hangup" (link.go), as a real USB CDC port does: the host's read fails. Polls reads (each with
// the host's 20 ms timeout) for up to a second.
func TestDocUnplugHostSeesHangup(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	if err := b.Unplug(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		n, err := h.p.Read(buf)
		if n != 0 {
			t.Fatalf("read %q from an unplugged port", buf[:n])
		}
		if err != nil {
			if !portGone(err) {
				t.Logf("read error after unplug: %v", err)
			}
			return
		}
	}
	n, err := h.p.Write([]byte("AT\r"))
	t.Fatalf("the host's open handle saw no hangup within 1s of the unplug (reads time out; a write returned n=%d err=%v)", n, err)
}

// a2TryFinal reads one response up to a final OK/ERROR line for at most d; ok is false on
// timeout (the test then reports instead of waiting for the harness's long timeout).
func a2TryFinal(h *host, d time.Duration) (resp string, ok bool) {
	deadline := time.Now().Add(d)
	for {
		rest := string(h.got.Bytes()[h.read:])
		for _, f := range []string{"OK\r\n", "ERROR\r\n"} {
			if i := strings.Index(rest, f); i >= 0 && (i == 0 || rest[i-1] == '\n' || strings.HasSuffix(rest[:i], "+CME ")) {
				h.read += i + len(f)
				return rest[:i+len(f)], true
			}
		}
		if time.Now().After(deadline) {
			return rest, false
		}
		if err := h.fill(); err != nil {
			return rest, false
		}
	}
}

// TestSpecNoByteLossAfterFinalResult: at_host loses only bytes that arrive while a command is
// being processed; it re-enables reception right after writing the response (§2.3: "After the
// modem answers, the response is written ... busy is cleared and RX IRQ re-enabled"). A host that
// sends the next command only after it has received the final result code of the previous one
// (§7.2 step 5) must therefore never lose a byte. Several boards run in parallel so the model's
// goroutines compete for the CPU, as in a full test run.
func TestSpecNoByteLossAfterFinalResult(t *testing.T) {
	t.Parallel()
	for i := 0; i < 6; i++ {
		t.Run(fmt.Sprint("board", i), func(t *testing.T) {
			t.Parallel()
			b := startBoard(t, sim.BoardConfig{SerialNumber: fmt.Sprintf("00096000010%d", i)})
			h := openHost(t, b.VCOM0(), 0)
			h.bootATClient()
			a2Settle(t, b)
			for j := 0; j < 250; j++ {
				h.write("AT+CGMR\r") // right after the previous final result, no settling
				got, ok := a2TryFinal(h, time.Second)
				if !ok || !strings.HasSuffix(got, "\r\nOK\r\n") {
					st := b.state()
					t.Fatalf("command %d sent after the previous OK: response %q (complete=%v); dropped_busy=%d rx_pending=%d",
						j, got, ok, st.Stats.DroppedBusy, st.RXPending)
				}
			}
			if st := b.waitIdle(h.sent); st.Stats.DroppedBusy != 0 {
				t.Fatalf("dropped_busy=%d", st.Stats.DroppedBusy)
			}
		})
	}
}

// TestFaultBusyWindowLoss: at_host reads nothing while a command executes; without flow control
// and with no UARTE FIFO, a second command sent right behind the first is lost (§2.3, §7.1 item
// 2). RTS/CTS holds the sender instead, and both are answered.
func TestFaultBusyWindowLoss(t *testing.T) {
	t.Parallel()
	t.Run("no_flow_control", func(t *testing.T) {
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{NoBusyFIFO: true})
		h := openHost(t, b.VCOM0(), 0)
		h.bootATClient()
		b.fault(sim.Fault{Kind: "slow", LatencyMS: 150})
		a2Write(t, b, h, "AT+CFUN=4\rAT\r")
		if got := h.final(); got != "OK\r\n" {
			t.Fatalf("first command: %q", got)
		}
		st := b.waitIdle(h.sent)
		if got := h.drain(); got != "" {
			t.Fatalf("the second command was answered: %q", got)
		}
		if st.Stats.DroppedBusy != 3 || st.RXPending != 0 || st.Stats.Commands != 1 {
			t.Fatalf("dropped_busy=%d pending=%d commands=%d, want 3 bytes lost and one command", st.Stats.DroppedBusy, st.RXPending, st.Stats.Commands)
		}
		b.fault(sim.Fault{Kind: "slow"})
		a2Want(t, b, h, "AT+CFUN?", "+CFUN: 4\r\nOK\r\n")
	})
	t.Run("flow_control", func(t *testing.T) {
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{NoBusyFIFO: true, FlowControl: true})
		h := openHost(t, b.VCOM0(), 0)
		h.bootATClient()
		b.fault(sim.Fault{Kind: "slow", LatencyMS: 150})
		a2Write(t, b, h, "AT+CFUN=4\rAT+CFUN?\r")
		if got := h.final(); got != "OK\r\n" {
			t.Fatalf("first command: %q", got)
		}
		if got := h.final(); got != "+CFUN: 4\r\nOK\r\n" {
			t.Fatalf("second command: %q", got)
		}
		if st := b.waitIdle(h.sent); st.Stats.DroppedBusy != 0 || st.Stats.Commands != 2 {
			t.Fatalf("dropped_busy=%d commands=%d", st.Stats.DroppedBusy, st.Stats.Commands)
		}
	})
	t.Run("fifo_keeps_five", func(t *testing.T) {
		// The default UARTE FIFO keeps 5 bytes; they start the next line (§2.3 last bullet).
		t.Parallel()
		b := startBoard(t, sim.BoardConfig{})
		h := openHost(t, b.VCOM0(), 0)
		h.bootATClient()
		b.fault(sim.Fault{Kind: "slow", LatencyMS: 150})
		a2Write(t, b, h, "AT+CFUN=4\rAT+CGMR\r")
		if got := h.final(); got != "OK\r\n" {
			t.Fatalf("first command: %q", got)
		}
		st := b.waitIdle(h.sent)
		if out := h.drain(); out != "" {
			t.Fatalf("answered %q", out)
		}
		if st.RXPending != 5 || st.Stats.DroppedBusy != 3 {
			t.Fatalf("pending=%d dropped_busy=%d, want \"AT+CG\" kept and \"MR\\r\" lost", st.RXPending, st.Stats.DroppedBusy)
		}
		b.fault(sim.Fault{Kind: "slow"})
		a2Want(t, b, h, "", "ERROR\r\n") // the line "AT+CG"
		a2Want(t, b, h, "AT", "OK\r\n")
	})
}

// TestFaultLineSpeed: with line_speed on, a host whose port is set to another baud rate than
// the board's garbles every byte both ways: no command reaches the modem and nothing the board
// sends is readable. Set to the right rate, the host's next line carries the garbage (ERROR) and
// the one after works.
func TestFaultLineSpeed(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 9600)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "line_speed", Enabled: true})
	before := b.state()
	h.write("AT+CFUN?\r")
	st := b.waitIdle(h.sent)
	if st.Stats.Commands != before.Stats.Commands || st.Stats.GarbledBytes != 9 {
		t.Fatalf("at the wrong speed: %d commands ran, %d bytes garbled; want none and 9", st.Stats.Commands-before.Stats.Commands, st.Stats.GarbledBytes)
	}
	b.fault(sim.Fault{Kind: "urc", Text: "+CEREG: 2"})
	got := h.expect(string([]byte{('\n' ^ 0x55) | 0x80}))
	for _, c := range []byte(got) {
		if c < 0x80 {
			t.Fatalf("the host read %q at the wrong speed; want only garbage", got)
		}
	}
	if err := h.p.SetMode(&serial.Mode{BaudRate: 115200}); err != nil {
		t.Fatal(err)
	}
	a2Want(t, b, h, "AT", "ERROR\r\n")
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
}

// TestFaultSwitchJSON: a switch fault (power_off_warning, echo, line_speed) written as JSON must
// say "enabled": {"kind":"power_off_warning"} alone used to be read as "off" and still listed as
// active, so a person injecting it saw the writes go through. It is refused now, with what to
// write; "enabled":false round-trips and takes the switch off the active list.
func TestFaultSwitchJSON(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"power_off_warning", "echo", "line_speed"} {
		var f sim.Fault
		err := json.Unmarshal([]byte(`{"kind":"`+kind+`"}`), &f)
		if err == nil || !strings.Contains(err.Error(), `"enabled":true`) {
			t.Errorf("%s without enabled: %v", kind, err)
		}
		for _, on := range []bool{true, false} {
			p, err := json.Marshal(sim.Fault{Kind: kind, Enabled: on})
			if err != nil {
				t.Fatal(err)
			}
			var back sim.Fault
			if err := json.Unmarshal(p, &back); err != nil || back.Enabled != on {
				t.Errorf("%s: %s read back as %+v, %v", kind, p, back, err)
			}
		}
	}
	var hang sim.Fault
	if err := json.Unmarshal([]byte(`{"kind":"hang","count":2}`), &hang); err != nil || hang.Count != 2 {
		t.Fatalf("hang: %+v %v", hang, err)
	}
	b := startBoard(t, sim.BoardConfig{})
	b.fault(sim.Fault{Kind: "power_off_warning", Enabled: true})
	b.fault(sim.Fault{Kind: "power_off_warning", Enabled: true})
	if st := b.state(); len(st.Faults) != 1 || !st.Faults[0].Enabled {
		t.Fatalf("on twice: faults %+v", st.Faults)
	}
	b.fault(sim.Fault{Kind: "power_off_warning", Enabled: false})
	if st := b.state(); len(st.Faults) != 0 {
		t.Fatalf("off: still listed %+v", st.Faults)
	}
}

// TestFaultPowerOffWarningOldFirmware: mfw 0.7.0 has no power-off warning; turning it on there is
// refused rather than listed as active and ignored.
func TestFaultPowerOffWarningOldFirmware(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	err := b.InjectFault(b.ctx(), sim.Fault{Kind: "power_off_warning", Enabled: true})
	if err == nil || !strings.Contains(err.Error(), "1.3.2") {
		t.Fatalf("power_off_warning on 0.7.0: %v", err)
	}
	if st := b.state(); len(st.Faults) != 0 {
		t.Fatalf("listed as active: %+v", st.Faults)
	}
}

// TestFaultHangOnCommand: with text, only the commands that start with it count; with enabled,
// the hanging command is executed first (a write that lands, then the modem hangs).
func TestFaultHangOnCommand(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	b.fault(sim.Fault{Kind: "hang", Text: "AT+CFUN=4"})
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
	a2Write(t, b, h, "AT+CFUN=4\r")
	if st := b.waitIdle(h.sent); !st.Hung || st.CFUN != 0 {
		t.Fatalf("AT+CFUN=4 with a hang on it: hung=%v cfun=%d, want hung before executing", st.Hung, st.CFUN)
	}
	b.reset()
	h.expect("*** Booting nRF Connect SDK")
	h.bootATClient()
	b.fault(sim.Fault{Kind: "hang", Text: "AT+CFUN=4", Enabled: true})
	a2Write(t, b, h, "AT+CFUN=4\r")
	if st := b.waitIdle(h.sent); !st.Hung || st.CFUN != 4 {
		t.Fatalf("AT+CFUN=4 with a late hang: hung=%v cfun=%d, want executed, then hung", st.Hung, st.CFUN)
	}
}
