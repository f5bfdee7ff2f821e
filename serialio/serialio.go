// Package serialio opens and enumerates serial ports for nrfprov.
//
// It is the only package that imports go.bug.st/serial. Everything it returns
// is expressed in its own terms: errors are wrapped around the sentinels below
// (never a *serial.PortError), and ports are *Port values with bounded reads.
//
// Any path works: a J-Link VCOM (/dev/ttyACM0, /dev/serial/by-id/...), a
// USB-UART, or a pseudo-terminal such as the one the virtual board sits on.
package serialio

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// Sentinel errors. Every error from this package wraps exactly one of them.
var (
	ErrNotFound      = errors.New("port not found")
	ErrBusy          = errors.New("port busy")
	ErrPermission    = errors.New("permission denied")
	ErrInvalidConfig = errors.New("invalid port configuration")
	ErrNotSerial     = errors.New("not a serial port")
	ErrClosed        = errors.New("port closed")
	// ErrDisconnected means the device went away while the port was open
	// (USB unplugged, PTY master closed).
	ErrDisconnected = errors.New("device disconnected")
	// ErrTimeout is returned by Read when the read deadline passes. It also
	// matches os.ErrDeadlineExceeded.
	ErrTimeout = timeoutError{}
	// ErrNoBoard and ErrAmbiguous come from Pick.
	ErrNoBoard   = errors.New("no matching board")
	ErrAmbiguous = errors.New("several boards match")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "read timed out" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

// DefaultBaud is the nRF91 AT host's UART0 speed.
const DefaultBaud = 115200

// Config is how a port is opened. The frame is always 8N1.
type Config struct {
	// Baud is the line speed in bit/s; 0 means DefaultBaud.
	Baud int
	// FlowControl turns RTS/CTS hardware flow control on.
	FlowControl bool
}

// Port is an open serial port. Read is meant for one goroutine (the port's
// owner); Write and Close may be called from any goroutine, and Close unblocks
// a pending Read.
type Port struct {
	path  string
	pty   bool
	sport serial.Port

	deadline atomic.Pointer[time.Time] // read deadline; nil means none

	wsem    chan struct{} // serialises Write; a semaphore so Close can cut the wait
	done    chan struct{} // closed when Close begins
	closing atomic.Bool

	mu       sync.Mutex // guards inflight and idle
	inflight bool       // a Write is between its closing check and its return
	idle     chan struct{}

	closeMu  sync.Mutex // serialises Close
	closeErr error
	closed   bool
}

// Open opens path as 8N1 at cfg.Baud. On a real UART it asserts DTR (the
// J-Link VCOM keeps its pins tri-stated until the host does) and RTS; on a
// pseudo-terminal, where the modem-line ioctls do not exist, it leaves the
// lines alone.
func Open(path string, cfg Config) (*Port, error) {
	baud := cfg.Baud
	if baud == 0 {
		baud = DefaultBaud
	}
	if baud < 0 {
		return nil, fmt.Errorf("serialio: open %s: baud %d: %w", path, baud, ErrInvalidConfig)
	}
	pty, err := isPTY(path)
	if err != nil {
		return nil, fmt.Errorf("serialio: open %s: %w", path, translate(err))
	}
	// Flow control is not part of go.bug.st/serial's Mode, and its Open
	// clears CRTSCTS. A second descriptor opened before it (the exclusive
	// lock is taken during Open) lets us set the flag on the same tty.
	var ctl *termiosHandle
	if cfg.FlowControl {
		if ctl, err = openTermios(path); err != nil {
			return nil, fmt.Errorf("serialio: open %s: %w", path, translate(err))
		}
		defer ctl.close()
	}
	mode := &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	sp, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("serialio: open %s: %w", path, translate(err))
	}
	p := &Port{path: path, pty: pty, sport: sp, wsem: make(chan struct{}, 1), done: make(chan struct{})}
	if ctl != nil {
		if err := ctl.setFlowControl(true); err != nil {
			_ = sp.Close()
			return nil, fmt.Errorf("serialio: open %s: set RTS/CTS: %w", path, translate(err))
		}
	}
	if !pty {
		if err := sp.SetDTR(true); err != nil {
			_ = sp.Close()
			return nil, fmt.Errorf("serialio: open %s: assert DTR: %w", path, translate(err))
		}
		if !cfg.FlowControl {
			if err := sp.SetRTS(true); err != nil {
				_ = sp.Close()
				return nil, fmt.Errorf("serialio: open %s: assert RTS: %w", path, translate(err))
			}
		}
	}
	return p, nil
}

// Path is the path the port was opened with.
func (p *Port) Path() string { return p.path }

// IsPTY reports whether the port is a pseudo-terminal.
func (p *Port) IsPTY() bool { return p.pty }

// SetReadDeadline bounds Read: once t has passed, Read returns an error
// matching ErrTimeout (and os.ErrDeadlineExceeded). The zero time means no
// deadline. It may be called from any goroutine; a pending Read picks up the
// new deadline within readSlice.
func (p *Port) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		p.deadline.Store(nil)
	} else {
		p.deadline.Store(&t)
	}
	return nil
}

// readSlice bounds each wait inside Read so that a deadline set while a Read
// is pending takes effect.
const readSlice = 100 * time.Millisecond

// Read reads at least one byte. It returns when data arrives, when the read
// deadline passes (ErrTimeout), when the port is closed (ErrClosed) or when
// the device goes away (ErrDisconnected). go.bug.st/serial reports a timeout
// as (0, nil); Read never does.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if p.closing.Load() {
			return 0, fmt.Errorf("serialio: read %s: %w", p.path, ErrClosed)
		}
		wait := readSlice
		if d := p.deadline.Load(); d != nil {
			left := time.Until(*d)
			if left <= 0 {
				return 0, fmt.Errorf("serialio: read %s: %w", p.path, ErrTimeout)
			}
			wait = min(wait, left)
		}
		if err := p.sport.SetReadTimeout(wait); err != nil {
			return 0, fmt.Errorf("serialio: read %s: %w", p.path, translate(err))
		}
		n, err := p.sport.Read(b)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			if p.closing.Load() {
				return 0, fmt.Errorf("serialio: read %s: %w", p.path, ErrClosed)
			}
			return 0, fmt.Errorf("serialio: read %s: %w", p.path, translateRead(err))
		}
		// (0, nil): the library's timeout. Loop to check deadline and close.
	}
}

// Write writes b. It refuses to start once Close has begun, including while
// it waits behind another Write.
func (p *Port) Write(b []byte) (int, error) {
	select {
	case p.wsem <- struct{}{}:
	case <-p.done:
		return 0, fmt.Errorf("serialio: write %s: %w", p.path, ErrClosed)
	}
	defer func() { <-p.wsem }()
	// The closing check and the in-flight mark are one step, so Close never
	// releases the descriptor between the check and the system call.
	p.mu.Lock()
	if p.closing.Load() {
		p.mu.Unlock()
		return 0, fmt.Errorf("serialio: write %s: %w", p.path, ErrClosed)
	}
	p.inflight = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight = false
		if p.idle != nil {
			close(p.idle)
			p.idle = nil
		}
		p.mu.Unlock()
	}()
	written := 0
	for written < len(b) {
		n, err := p.sport.Write(b[written:])
		written += n
		if err != nil {
			return written, fmt.Errorf("serialio: write %s: %w", p.path, translateRead(err))
		}
		if n == 0 {
			return written, fmt.Errorf("serialio: write %s: %w", p.path, ErrDisconnected)
		}
	}
	return written, nil
}

// closeGrace is how long Close waits for a Write that is already in the
// kernel (for instance held by CTS) before discarding the output queue.
const closeGrace = 500 * time.Millisecond

// Close closes the port and unblocks a pending Read. It is idempotent. A
// Write already in the kernel (held by CTS, or by a PTY nobody reads) is given
// closeGrace, then the output queue is discarded and the port closed under
// it; such a Write returns when the kernel lets it.
func (p *Port) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed {
		return p.closeErr
	}
	p.closed = true
	close(p.done)
	p.mu.Lock()
	p.closing.Store(true)
	var idle chan struct{}
	if p.inflight {
		idle = make(chan struct{})
		p.idle = idle
	}
	p.mu.Unlock()
	if idle != nil {
		timer := time.NewTimer(closeGrace)
		defer timer.Stop()
		select {
		case <-idle:
		case <-timer.C:
			// A write is stuck in the kernel; drop the output queue so it
			// can return. Closing the descriptor under it is safe: the
			// system call holds its own reference to the open file.
			_ = p.sport.ResetOutputBuffer()
		}
	}
	if err := p.sport.Close(); err != nil {
		p.closeErr = fmt.Errorf("serialio: close %s: %w", p.path, translate(err))
	}
	return p.closeErr
}

// translate maps a go.bug.st/serial or OS error to this package's sentinels,
// keeping the original text. It is the only place that looks at
// *serial.PortError.
func translate(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s", kindOf(pe.Code()), pe.Error())
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// translateRead is translate for errors on an open port, where the kernel
// reports a vanished device as EIO (PTY master closed) or ENXIO/ENODEV (USB).
func translateRead(err error) error {
	if isGoneErrno(err) {
		return fmt.Errorf("%w: %w", ErrDisconnected, err)
	}
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		// The library turns a zero-length read after select (the device
		// was unplugged) into PortClosed; our own Close is checked first.
		return fmt.Errorf("%w: %s", ErrDisconnected, pe.Error())
	}
	return translate(err)
}

// kindOf is the one table from go.bug.st/serial error codes to sentinels.
func kindOf(code serial.PortErrorCode) error {
	switch code {
	case serial.PortBusy:
		return ErrBusy
	case serial.PortNotFound:
		return ErrNotFound
	case serial.PermissionDenied:
		return ErrPermission
	case serial.InvalidSpeed, serial.InvalidDataBits, serial.InvalidParity,
		serial.InvalidStopBits, serial.InvalidTimeoutValue:
		return ErrInvalidConfig
	case serial.PortClosed:
		return ErrClosed
	case serial.InvalidSerialPort, serial.FunctionNotImplemented:
		return ErrNotSerial
	default:
		return errUnknown
	}
}

var errUnknown = errors.New("serial port error")
