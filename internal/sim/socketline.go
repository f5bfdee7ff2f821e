package sim

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// sockLine is the board's UART as a listening socket instead of a pseudo-terminal, for a peer
// that brings its own UART: QEMU's chardev (-serial tcp:HOST:PORT) connects here and the modem
// model answers on it with the same pacing and receive model as on a PTY. One peer at a time: a
// new connection replaces the old one. While nobody is connected, what the board sends is lost
// on the wire, as on an unconnected UART; with hold it is kept (up to holdLimit bytes, the
// newest) and goes to the next peer first, as a pseudo-terminal keeps it for its next reader.
// A peer that hung up is noticed by the reader or by the next write that fails: what went into
// its closed socket before that is lost, the first byte or few (the paced writer hands output
// over as each byte's start bit is due).
type sockLine struct {
	ln   net.Listener
	addr string // "tcp:HOST:PORT" or "unix:PATH", as bound
	hold bool

	mu     sync.Mutex
	conn   net.Conn
	held   []byte        // with hold: what the board sent while no peer was connected
	next   chan struct{} // closed and replaced when a connection arrives or the line closes
	closed bool
}

// holdLimit bounds what a held line keeps for its next peer: a Linux pseudo-terminal's input
// buffer is 4 KiB; a board's boot output (banner, "Ready") is far less.
const holdLimit = 4096

// ParseListen checks a socket spec: "tcp:HOST:PORT" (port 0 picks a free one) or "unix:PATH".
func ParseListen(spec string) (network, address string, err error) {
	network, address, ok := strings.Cut(spec, ":")
	if !ok || address == "" || (network != "tcp" && network != "unix") {
		return "", "", fmt.Errorf("sim: listen %q: want tcp:HOST:PORT or unix:PATH", spec)
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("sim: listen %q: %w", spec, err)
		}
	}
	return network, address, nil
}

// listenLine opens the socket and starts accepting. With hold, what the board sends while no
// peer is connected waits for the next one.
func listenLine(spec string, hold bool) (*sockLine, error) {
	network, address, err := ParseListen(spec)
	if err != nil {
		return nil, err
	}
	if network == "unix" {
		os.Remove(address) // a stale socket file from an earlier run
	}
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, fmt.Errorf("sim: serial socket: %w", err)
	}
	s := &sockLine{ln: ln, addr: network + ":" + ln.Addr().String(), hold: hold, next: make(chan struct{})}
	go s.accept()
	return s, nil
}

func (s *sockLine) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		if s.conn != nil {
			s.conn.Close()
			s.conn = nil
		}
		if len(s.held) > 0 {
			// Under the lock: the board's next Write waits, so the held bytes go first.
			c.SetWriteDeadline(time.Now().Add(gdbOpTimeout))
			if _, err := c.Write(s.held); err != nil {
				s.mu.Unlock()
				c.Close() // the peer went away at once; the bytes stay for the next one
				continue
			}
			s.held = nil
		}
		s.conn = c
		close(s.next)
		s.next = make(chan struct{})
		s.mu.Unlock()
	}
}

var errLineClosed = errors.New("sim: serial socket closed")

// Read returns what the peer sent, waiting for a peer to connect; a peer that goes away is
// waited for again.
func (s *sockLine) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		c, next, closed := s.conn, s.next, s.closed
		s.mu.Unlock()
		if closed {
			return 0, errLineClosed
		}
		if c == nil {
			<-next
			continue
		}
		n, err := c.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil {
			s.mu.Lock()
			if s.conn == c {
				s.conn = nil
			}
			s.mu.Unlock()
			c.Close()
		}
	}
}

// Write sends to the connected peer; with none, the bytes are lost, or held for the next peer.
// With hold, a peer found gone by a failing write is dropped and the rest held too: the board
// may write before the reader has seen the peer's hang-up.
func (s *sockLine) Write(p []byte) (int, error) {
	s.mu.Lock()
	c := s.conn
	if c == nil && s.hold {
		s.keep(p)
	}
	s.mu.Unlock()
	if c == nil {
		return len(p), nil
	}
	c.SetWriteDeadline(time.Now().Add(gdbOpTimeout))
	n, err := c.Write(p)
	if err == nil || !s.hold {
		return n, err
	}
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
		c.Close()
	}
	if s.conn == nil && !s.closed {
		s.keep(p[n:])
	}
	s.mu.Unlock()
	return len(p), nil
}

// keep holds p for the next peer, the newest holdLimit bytes; s.mu is held.
func (s *sockLine) keep(p []byte) {
	s.held = append(s.held, p...)
	if over := len(s.held) - holdLimit; over > 0 {
		s.held = append(s.held[:0], s.held[over:]...)
	}
}

// Close stops listening and hangs up on the peer.
func (s *sockLine) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
	}
	close(s.next)
	err := s.ln.Close()
	return err
}
