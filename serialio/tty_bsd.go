//go:build darwin || freebsd || openbsd

package serialio

import (
	"golang.org/x/sys/unix"
)

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
)

// isPTYDevice is only reached for paths outside /dev/pts; BSD PTY slaves
// (/dev/ttysNNN, /dev/pts/N) are recognised by name there.
func isPTYDevice(uint64) bool { return false }
