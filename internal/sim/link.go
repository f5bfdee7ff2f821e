//go:build linux

package sim

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// The board's VCOM as a pseudo-terminal (Linux). Elsewhere the UART is a socket only
// (BoardConfig.Listen); see link_other.go.

// openVCOM creates a new pseudo-terminal in raw mode and points link at it.
func openVCOM(link string) (*vcom, error) {
	ptmx, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("sim: open pty: %w", err)
	}
	// pty.Open leaves the master in blocking mode (it calls Fd), and a blocking Read cannot be
	// interrupted by Close: an unplug would not hang up the host's handle. A non-blocking
	// duplicate goes through Go's poller, where Close wakes the reader at once.
	master, err := pollable(ptmx)
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("sim: open pty: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("sim: pty raw mode: %w", err)
	}
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(slave.Name(), tmp); err != nil {
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("sim: vcom link: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("sim: vcom link: %w", err)
	}
	return &vcom{master: master, slave: slave, link: link}, nil
}

func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw puts the terminal in raw mode: no echo, no line editing, no CR/LF translation, so
// the bytes the host writes reach the model unchanged even if the host does not configure the
// port itself.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
