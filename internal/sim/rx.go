package sim

import (
	"fmt"
	"strings"
)

// Termination is the byte (or pair) that ends a command line on the device.
type Termination int

// The terminations lib/at_host offers (CONFIG_AT_HOST_TERMINATION); CR is at_client's default.
const (
	TermCR Termination = iota
	TermLF
	TermCRLF
	TermNUL
)

func (t Termination) String() string {
	switch t {
	case TermCR:
		return "cr"
	case TermLF:
		return "lf"
	case TermCRLF:
		return "crlf"
	case TermNUL:
		return "nul"
	}
	return fmt.Sprintf("Termination(%d)", int(t))
}

// ParseTermination reads "cr", "lf", "crlf" or "nul" (case-insensitive).
func ParseTermination(s string) (Termination, error) {
	for _, t := range []Termination{TermCR, TermLF, TermCRLF, TermNUL} {
		if strings.EqualFold(s, t.String()) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("sim: unknown termination %q (want cr, lf, crlf or nul)", s)
}

// lineRX is the receive side of a device line discipline: bytes in, complete lines out.
type lineRX interface {
	// feed takes one received byte. When it completes a line, send is true and line holds it.
	// echo is what the device writes back for this byte (MoSh echoes, at_host does not).
	feed(c byte) (line []byte, send bool, echo []byte)
	reset()
}

// atHostRX is lib/at_host's receive state machine (v1–v3, modem-cmng-athost.md §2.3), run per
// byte as the UART ISR does:
//
//  1. BS or DEL removes the last stored byte, even inside quotes, and never changes the quote state.
//  2. Outside quotes the terminator sends the line; NUL in another mode is ignored; CR and LF
//     that do not terminate are stored. In CRLF mode LF sends only right after a stored CR, and
//     that CR stays at the end of the line.
//  3. A byte that would leave no room for the C string's NUL is dropped silently.
//  4. A stored double quote toggles the quote state.
//
// Because the quote toggle runs only for stored bytes, an overflow inside quotes drops the
// closing quote, every later terminator is data, and the line never ends: the board hangs
// until it is reset (§2.4).
type atHostRX struct {
	term    Termination
	limit   int // characters stored at most (CONFIG_AT_HOST_CMD_MAX_LEN - 1)
	buf     []byte
	inQuote bool
	// overflowMsg makes overflow print "Buffer overflow, dropping '<c>'" (MoSh's AT command mode
	// prints it; at_host only logs it, and at_client has no log output).
	overflowMsg bool
	// echo writes back every stored byte (MoSh's AT command mode).
	echo bool
	// dropped counts bytes lost to overflow since the last line.
	dropped int
}

func (r *atHostRX) reset() {
	r.buf = r.buf[:0]
	r.inQuote = false
	r.dropped = 0
}

func (r *atHostRX) feed(c byte) (line []byte, send bool, echo []byte) {
	if c == 0x08 || c == 0x7f {
		if len(r.buf) > 0 {
			r.buf = r.buf[:len(r.buf)-1]
			if r.echo {
				echo = []byte("\b \b")
			}
		}
		return nil, false, echo
	}
	if !r.inQuote {
		switch c {
		case 0:
			if r.term == TermNUL {
				return r.send()
			}
			return nil, false, nil
		case '\r':
			if r.term == TermCR {
				return r.send()
			}
		case '\n':
			if r.term == TermLF || (r.term == TermCRLF && len(r.buf) > 0 && r.buf[len(r.buf)-1] == '\r') {
				return r.send()
			}
		}
	}
	if len(r.buf) >= r.limit {
		r.dropped++
		if r.overflowMsg {
			echo = fmt.Appendf(nil, "Buffer overflow, dropping '%c'\r\n", c)
		}
		return nil, false, echo
	}
	r.buf = append(r.buf, c)
	if c == '"' {
		r.inQuote = !r.inQuote
	}
	if r.echo {
		echo = []byte{c}
	}
	return nil, false, echo
}

// send ends the line. Like at_host (v2+) it hands the line over as a C string, so it stops at
// the first stored NUL, and it drops lines with no byte above space.
func (r *atHostRX) send() ([]byte, bool, []byte) {
	line := append([]byte(nil), r.buf...)
	r.reset()
	var echo []byte
	if r.echo {
		echo = []byte("\r\n")
	}
	for i, c := range line {
		if c == 0 {
			line = line[:i]
			break
		}
	}
	for _, c := range line {
		if c > ' ' {
			return line, true, echo
		}
	}
	return nil, false, echo
}

// slmRX is the Serial LTE Modem's receive side (§3.1): the same quote rule and BS/DEL handling,
// but it keeps counting past its buffer and answers ERROR when the line ends instead of hanging,
// and it trims the CR of a CRLF terminator.
type slmRX struct {
	term     Termination
	limit    int
	buf      []byte
	inQuote  bool
	overflow bool
	prev     byte // the byte received before this one, stored or not
}

func (r *slmRX) reset() {
	r.buf = r.buf[:0]
	r.inQuote = false
	r.overflow = false
}

// slmOverflowLine is the line slmRX hands over when a line overflowed: the firmware answers
// ERROR to it.
const slmOverflowLine = "\x00overflow"

func (r *slmRX) feed(c byte) ([]byte, bool, []byte) {
	prev := r.prev
	r.prev = c
	if c == 0x08 || c == 0x7f {
		if len(r.buf) > 0 {
			r.buf = r.buf[:len(r.buf)-1]
		}
		return nil, false, nil
	}
	if c == '"' {
		r.inQuote = !r.inQuote
	}
	if !r.inQuote {
		end := false
		switch r.term {
		case TermCR:
			end = c == '\r'
		case TermLF:
			end = c == '\n'
		case TermCRLF:
			end = c == '\n' && prev == '\r'
		case TermNUL:
			end = c == 0
		}
		if end {
			line := strings.TrimRight(string(r.buf), "\r")
			over := r.overflow
			r.reset()
			if over {
				return []byte(slmOverflowLine), true, nil
			}
			return []byte(line), true, nil
		}
	}
	if len(r.buf) >= r.limit {
		// The CR of a CR LF terminator is trimmed anyway; it does not overflow the line.
		if !(c == '\r' && r.term == TermCRLF && !r.inQuote) {
			r.overflow = true
		}
		return nil, false, nil
	}
	r.buf = append(r.buf, c)
	return nil, false, nil
}

// shellRX is the Zephyr shell's line editor as Modem Shell uses it (§3.2): it echoes what it
// stores, CR or LF ends a line (a CR LF pair counts once), quotes do not protect line endings,
// and bytes past CONFIG_SHELL_CMD_BUFF_SIZE - 1 are dropped silently.
type shellRX struct {
	limit  int
	buf    []byte
	lastCR bool
}

func (r *shellRX) reset() {
	r.buf = r.buf[:0]
	r.lastCR = false
}

func (r *shellRX) feed(c byte) ([]byte, bool, []byte) {
	wasCR := r.lastCR
	r.lastCR = c == '\r'
	switch c {
	case '\r', '\n':
		if c == '\n' && wasCR {
			return nil, false, nil
		}
		line := append([]byte(nil), r.buf...)
		r.buf = r.buf[:0]
		return line, true, []byte("\r\n")
	case 0x08, 0x7f:
		if len(r.buf) > 0 {
			r.buf = r.buf[:len(r.buf)-1]
			return nil, false, []byte("\b \b")
		}
		return nil, false, nil
	case 0:
		return nil, false, nil
	}
	if len(r.buf) >= r.limit {
		return nil, false, nil
	}
	r.buf = append(r.buf, c)
	return nil, false, []byte{c}
}
