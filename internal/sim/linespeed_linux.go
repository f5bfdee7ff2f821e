package sim

import (
	"golang.org/x/sys/unix"
)

// speeds maps the termios speed codes to bit/s.
var speeds = map[uint32]int{
	unix.B300: 300, unix.B600: 600, unix.B1200: 1200, unix.B2400: 2400, unix.B4800: 4800,
	unix.B9600: 9600, unix.B19200: 19200, unix.B38400: 38400, unix.B57600: 57600,
	unix.B115200: 115200, unix.B230400: 230400, unix.B460800: 460800, unix.B500000: 500000,
	unix.B576000: 576000, unix.B921600: 921600, unix.B1000000: 1000000, unix.B1152000: 1152000,
	unix.B1500000: 1500000, unix.B2000000: 2000000, unix.B2500000: 2500000, unix.B3000000: 3000000,
	unix.B3500000: 3500000, unix.B4000000: 4000000,
}

// hostSpeed is the speed the host set on the port (0 when it cannot be read or is unknown).
func (v *vcom) hostSpeed() int {
	rc, err := v.slave.SyscallConn()
	if err != nil {
		return 0
	}
	var speed int
	_ = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err == nil {
			speed = speeds[t.Cflag&unix.CBAUD]
		}
	})
	return speed
}
