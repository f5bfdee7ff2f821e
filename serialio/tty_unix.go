//go:build linux || darwin || freebsd || openbsd

package serialio

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// isGoneErrno reports errors with which the kernel says the device behind an
// open descriptor has gone away.
func isGoneErrno(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV)
}

// termiosHandle is a second descriptor on a tty, used to change termios
// settings that go.bug.st/serial has no API for.
type termiosHandle struct{ fd int }

func openTermios(path string) (*termiosHandle, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &pathError{op: "open", path: path, err: err}
	}
	return &termiosHandle{fd: fd}, nil
}

func (h *termiosHandle) close() { _ = unix.Close(h.fd) }

func (h *termiosHandle) setFlowControl(on bool) error {
	t, err := unix.IoctlGetTermios(h.fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	if on {
		t.Cflag |= unix.CRTSCTS
	} else {
		t.Cflag &^= unix.CRTSCTS
	}
	return unix.IoctlSetTermios(h.fd, ioctlSetTermios, t)
}

type pathError struct {
	op, path string
	err      error
}

func (e *pathError) Error() string { return e.op + " " + e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// isPTY reports whether path (after symlinks) is a pseudo-terminal slave
// (/dev/pts/N on Linux and FreeBSD, /dev/ttysNNN on macOS).
// The modem-line ioctls (TIOCMGET/TIOCMSET) fail on those, so DTR and RTS
// must be left alone.
func isPTY(path string) (bool, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return false, err
	}
	if strings.HasPrefix(real, "/dev/pts/") || strings.HasPrefix(real, "/dev/ttys") {
		return true, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(real, &st); err != nil {
		return false, &pathError{op: "stat", path: real, err: err}
	}
	return isPTYDevice(uint64(st.Rdev)), nil
}
