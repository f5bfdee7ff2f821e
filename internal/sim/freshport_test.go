//go:build linux

package sim_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestFreshBoardEchoIsTheFirmware: what a host sees "echoed" right after a fresh boot comes
// from the at_client firmware, not from the port. The port is opened as `cat` would, without
// touching its settings: it is already raw (no ECHO, no ICANON, no CR/LF mapping), so the line
// discipline sends nothing back. A command written between the banner and "Ready" comes back as
// its own text with no result code because the modem library is not initialised yet and at_host
// writes back its buffer (§2.5, §2.6) — and the board's state counts it, so a trace reader can
// tell the two apart.
func TestFreshBoardEchoIsTheFirmware(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{ReadyDelay: 2 * time.Second})
	f, err := os.OpenFile(b.VCOM0(), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 || tio.Iflag&(unix.ICRNL|unix.IXON) != 0 || tio.Oflag&unix.OPOST != 0 {
		t.Fatalf("a fresh port is not raw: lflag %#x iflag %#x oflag %#x", tio.Lflag, tio.Iflag, tio.Oflag)
	}
	got := readUntilFile(t, f, "The AT host sample started\r\n")
	if !strings.HasPrefix(got, "*** Booting nRF Connect SDK") {
		t.Fatalf("boot output %q", got)
	}
	if _, err := f.Write([]byte("AT+CGMR\r")); err != nil {
		t.Fatal(err)
	}
	got = readUntilFile(t, f, "Ready\r\n")
	if got != "AT+CGMR"+"Ready\r\n" {
		t.Fatalf("between the sample line and Ready: %q", got)
	}
	st := b.state()
	if st.Stats.CommandsBeforeReady != 1 || st.Stats.RxBytes != uint64(len("AT+CGMR\r")) {
		t.Fatalf("the board should count the command it wrote back: %+v", st.Stats)
	}
	// Once ready, the same command is answered and nothing is written back.
	if _, err := f.Write([]byte("AT+CGMR\r")); err != nil {
		t.Fatal(err)
	}
	if got := readUntilFile(t, f, "OK\r\n"); got != "mfw_nrf9160_1.3.5\r\nOK\r\n" {
		t.Fatalf("after Ready: %q", got)
	}
	if st := b.state(); st.Stats.CommandsBeforeReady != 1 {
		t.Fatalf("after Ready: %+v", st.Stats)
	}
}

// readUntilFile reads f until the text read ends with end.
func readUntilFile(t *testing.T, f *os.File, end string) string {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 256)
	for !strings.HasSuffix(string(got), end) {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatalf("read %q so far: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	return string(got)
}
