//go:build linux

package serialio_test

import (
	"errors"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/nrfprov/nrfprov/serialio"
)

// ptyPair opens a real pseudo-terminal. The master plays the board; the slave
// path is what serialio opens. The test keeps its own slave descriptor open
// (as a terminal emulator would) so the master does not see a hangup when
// serialio closes the port.
func ptyPair(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(); _ = s.Close() })
	return m, s
}

func openPort(t *testing.T, path string, cfg serialio.Config) *serialio.Port {
	t.Helper()
	p, err := serialio.Open(path, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// readUntil reads from r until want has been seen or the deadline passes.
func readUntil(t *testing.T, p *serialio.Port, want string, d time.Duration) string {
	t.Helper()
	return testsupport.ReadUntil(t, p, want, d)
}

func TestExchangeOverPTY(t *testing.T) {
	master, slave := ptyPair(t)
	p := openPort(t, slave.Name(), serialio.Config{})
	if !p.IsPTY() {
		t.Errorf("IsPTY() = false for %s", slave.Name())
	}
	if _, err := p.Write([]byte("AT\r")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := make([]byte, 3)
	if err := master.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(master, got); err != nil || string(got) != "AT\r" {
		t.Fatalf("board received %q, %v; want %q", got, err, "AT\r")
	}
	if _, err := master.Write([]byte("OK\r\n")); err != nil {
		t.Fatal(err)
	}
	if s := readUntil(t, p, "OK\r\n", 5*time.Second); s != "OK\r\n" {
		t.Fatalf("host received %q, want %q", s, "OK\r\n")
	}
}

func TestOpenConfiguresTermios(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   serialio.Config
		speed uint32
	}{
		{"default 115200", serialio.Config{}, unix.B115200},
		{"9600 with RTS/CTS", serialio.Config{Baud: 9600, FlowControl: true}, unix.B9600},
		{"1000000", serialio.Config{Baud: 1000000}, unix.B1000000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, slave := ptyPair(t)
			openPort(t, slave.Name(), tc.cfg)
			tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatalf("TCGETS: %v", err)
			}
			if got := tio.Cflag & unix.CBAUD; got != tc.speed {
				t.Errorf("speed bits = %#o, want %#o", got, tc.speed)
			}
			if tio.Cflag&unix.CSIZE != unix.CS8 || tio.Cflag&unix.PARENB != 0 || tio.Cflag&unix.CSTOPB != 0 {
				t.Errorf("frame is not 8N1: cflag %#o", tio.Cflag)
			}
			if tio.Lflag&(unix.ICANON|unix.ECHO) != 0 {
				t.Errorf("not raw: lflag %#o", tio.Lflag)
			}
			if on := tio.Cflag&unix.CRTSCTS != 0; on != tc.cfg.FlowControl {
				t.Errorf("CRTSCTS = %v, want %v", on, tc.cfg.FlowControl)
			}
		})
	}
}

func TestReadDeadline(t *testing.T) {
	_, slave := ptyPair(t)
	p := openPort(t, slave.Name(), serialio.Config{})
	deadline := time.Now().Add(30 * time.Millisecond)
	if err := p.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	n, err := p.Read(make([]byte, 16))
	if n != 0 || !errors.Is(err, serialio.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want 0 and a timeout", n, err)
	}
	if time.Now().Before(deadline) {
		t.Fatalf("Read timed out before its deadline")
	}
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() {
		t.Errorf("timeout error does not report Timeout(): %v", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	_, slave := ptyPair(t)
	p := openPort(t, slave.Name(), serialio.Config{})
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 16))
		done <- err
	}()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, serialio.ErrClosed) {
			t.Fatalf("Read after Close: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read still blocked 10s after Close")
	}
	if _, err := p.Write([]byte("AT\r")); !errors.Is(err, serialio.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDisconnect(t *testing.T) {
	master, slave := ptyPair(t)
	p := openPort(t, slave.Name(), serialio.Config{})
	// The board goes away: every master descriptor closes.
	if err := master.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := p.Read(make([]byte, 16))
	if !errors.Is(err, serialio.ErrDisconnected) {
		t.Fatalf("Read after hangup: %v, want ErrDisconnected", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		cfg  serialio.Config
		want error
	}{
		{"missing", filepath.Join(dir, "ttyACM9"), serialio.Config{}, serialio.ErrNotFound},
		{"not a tty", regular, serialio.Config{}, serialio.ErrNotSerial},
		{"negative baud", regular, serialio.Config{Baud: -1}, serialio.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := serialio.Open(tc.path, tc.cfg)
			if err == nil {
				_ = p.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open(%s) = %v, want %v", tc.path, err, tc.want)
			}
		})
	}
}

func TestOpenThroughSymlink(t *testing.T) {
	master, slave := ptyPair(t)
	link := filepath.Join(t.TempDir(), "vcom0")
	if err := os.Symlink(slave.Name(), link); err != nil {
		t.Fatal(err)
	}
	p := openPort(t, link, serialio.Config{})
	if !p.IsPTY() || p.Path() != link {
		t.Fatalf("IsPTY=%v Path=%q", p.IsPTY(), p.Path())
	}
	if _, err := master.Write([]byte("Ready\r\n")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, p, "Ready\r\n", 5*time.Second)
}

func TestCloseWhileWriteIsBlocked(t *testing.T) {
	master, slave := ptyPair(t)
	p, err := serialio.Open(slave.Name(), serialio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = p.Write(make([]byte, 1<<20)) }()
	// Bytes reaching the board prove the Write is under way; the board then
	// stops reading and the PTY fills up under it.
	if _, err := master.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked behind a stuck Write")
	}
	if _, err := p.Write([]byte("AT\r")); !errors.Is(err, serialio.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	// The stuck Write stays in the kernel until the board reads or hangs
	// up; the cleanup closes the master, which ends it with EIO.
}
