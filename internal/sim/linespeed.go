package sim

import (
	"golang.org/x/sys/unix"
)

// The host's line speed. A pseudo-terminal carries no real signal, but it keeps the speed the
// host set with tcsetattr; with the "line_speed" fault on, the board compares it with its own
// baud rate, and a mismatch garbles every byte both ways, as a UART sampling at the wrong rate
// does: the receiver sees framing errors and bytes that are not the ones sent.

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

// garble is what a byte sent at one rate looks like sampled at another: never the byte sent,
// never a line break or a quote (the high bit set), so nothing on either side ever sees a line.
func garble(p []byte) []byte {
	out := make([]byte, len(p))
	for i, c := range p {
		out[i] = (c ^ 0x55) | 0x80
	}
	return out
}

// checkLineSpeed runs on the loop with received bytes: with the fault on it records whether the
// host's speed differs from the board's, and garbles the input if so.
func (b *Board) checkLineSpeed(port *vcom, data []byte) []byte {
	f := &b.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.lineSpeed {
		f.speedMismatch = false
		return data
	}
	host := port.hostSpeed()
	f.speedMismatch = host != 0 && host != b.cfg.Baud
	if f.speedMismatch {
		f.stats.GarbledBytes += uint64(len(data))
		return garble(data)
	}
	return data
}
