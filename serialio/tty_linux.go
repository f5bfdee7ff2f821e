package serialio

import "golang.org/x/sys/unix"

const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)

// isPTYDevice: Unix98 PTY slaves use character majors 136-143 on Linux
// (Documentation/admin-guide/devices.txt).
func isPTYDevice(rdev uint64) bool {
	major := unix.Major(rdev)
	return major >= 136 && major <= 143
}
