// Package gdb is a GDB remote serial protocol client for memory access: the RTT engine's
// backend for JLinkGDBServer, OpenOCD, pyOCD and QEMU's gdbstub (rtt-jlink-plugins.md §2.3).
//
// It speaks the packet layer ($data#cs with acks, or no-ack mode after QStartNoAckMode), asks the
// server's PacketSize, reads with m, writes with X (binary, escaped) or, where X is unknown, M
// (hex), and passes
// monitor commands with qRcmd. Servers that cannot touch memory while the core runs are handled by
// halting around the accesses (Options.Halt): with "monitor halt"/"monitor go" (HaltMonitor), or
// the standard all-stop way (HaltInterrupt, for QEMU's gdbstub): a 0x03 byte, the stop reply,
// the accesses, then "c". Client.Halted makes one halt cover a batch of accesses.
package gdb

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrProtocol: the server broke the protocol (bad checksum twice, a malformed reply).
var ErrProtocol = errors.New("gdb: protocol error")

// ServerError is an "Exx" reply.
type ServerError struct {
	Op   string
	Code string
}

func (e *ServerError) Error() string { return fmt.Sprintf("gdb: %s: server error E%s", e.Op, e.Code) }

// HaltMode says how the client stops the core around memory accesses.
type HaltMode int

const (
	// HaltNone accesses memory while the core runs (J-Link, OpenOCD, pyOCD).
	HaltNone HaltMode = iota
	// HaltMonitor halts with "monitor halt" and resumes with "monitor go" (qRcmd).
	HaltMonitor
	// HaltInterrupt is the remote protocol's own all-stop run control: a 0x03 byte stops the
	// core and the server answers with a stop reply (S or T); "c" resumes it, with no reply until
	// the next stop. For QEMU's gdbstub, which stops the VM at any byte that arrives while it
	// runs and cannot touch memory then. The core is halted when a debugger attaches: Dial
	// asks "?" and resumes it.
	HaltInterrupt
)

func (m HaltMode) String() string {
	switch m {
	case HaltNone:
		return "none"
	case HaltMonitor:
		return "monitor"
	case HaltInterrupt:
		return "interrupt"
	}
	return fmt.Sprintf("HaltMode(%d)", int(m))
}

// ErrTargetExited: the server reported that the target exited or was killed (a W or X reply).
var ErrTargetExited = errors.New("gdb: the target exited")

// Options tune a connection.
type Options struct {
	// Timeout bounds each request/response exchange (default 5 s).
	Timeout time.Duration
	// Halt is how the core is stopped around memory accesses (default HaltNone).
	Halt HaltMode
	// NoAck asks the server for no-ack mode when it supports it (default true via Dial).
	NoAck bool
}

// Client is one connection to a GDB server. It is safe for use by one goroutine at a time; a
// mutex serialises callers.
type Client struct {
	mu         sync.Mutex
	conn       net.Conn
	r          *bufio.Reader
	o          Options
	noAck      bool
	packetSize int
	// stopped: the core is halted by us (HaltInterrupt: a stop reply came and no "c" since).
	stopped bool
	// broken is the I/O error that ended the conversation: after a timeout a late reply could
	// be taken for the answer to the next request, so nothing more is sent.
	broken error
	// noX: the server answered X with an empty reply (not supported); writes use M.
	noX bool
	// holds counts Halted calls in progress: while there are any the core stays halted and
	// single accesses do not halt or resume it.
	holds int
}

// Dial connects to addr ("host:port") and negotiates features.
func Dial(ctx context.Context, addr string, o Options) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gdb: dial %s: %w", addr, err)
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn), o: o, packetSize: 256}
	if err := c.negotiate(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if o.Halt == HaltInterrupt {
		if err := c.attachRunning(ctx); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return c, nil
}

// attachRunning asks why the target stopped ("?": an all-stop server halts the core when a
// debugger attaches) and lets it run again.
func (c *Client) attachRunning(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.send("?"); err != nil {
		return fmt.Errorf("gdb: ?: %w", err)
	}
	if err := c.waitStop(ctx); err != nil {
		return fmt.Errorf("gdb: ?: %w", err)
	}
	return c.resume(ctx)
}

// Close ends the connection. In HaltInterrupt mode it first detaches ("D"), which leaves the
// core running; the connection closes even if that fails.
func (c *Client) Close() error {
	if c.o.Halt == HaltInterrupt {
		c.mu.Lock()
		defer c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.o.Timeout)
		// A packet that reaches QEMU while the core runs is dropped: stop it first.
		if err := c.halt(ctx); err == nil {
			_, _ = c.exchange(ctx, "D")
		}
		cancel()
	}
	return c.conn.Close()
}

// PacketSize is the largest packet the server accepts.
func (c *Client) PacketSize() int { return c.packetSize }

func (c *Client) negotiate(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, err := c.exchange(ctx, "qSupported:swbreak+;hwbreak+")
	if err != nil {
		return fmt.Errorf("gdb: qSupported: %w", err)
	}
	noAckOK := false
	for _, f := range strings.Split(resp, ";") {
		switch {
		case strings.HasPrefix(f, "PacketSize="):
			n, err := strconv.ParseInt(strings.TrimPrefix(f, "PacketSize="), 16, 32)
			if err == nil && n >= 64 {
				c.packetSize = int(n)
			}
		case f == "QStartNoAckMode+":
			noAckOK = true
		}
	}
	if c.o.NoAck && noAckOK {
		if resp, err := c.exchange(ctx, "QStartNoAckMode"); err == nil && resp == "OK" {
			c.noAck = true
		}
	}
	return nil
}

// ReadMemory reads len(p) bytes at addr, in pieces the packet size allows.
func (c *Client) ReadMemory(ctx context.Context, addr uint32, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.halted(ctx, func() error {
		// The reply carries two hex digits per byte plus framing.
		chunk := (c.packetSize - 8) / 2
		for off := 0; off < len(p); off += chunk {
			n := min(chunk, len(p)-off)
			resp, err := c.exchange(ctx, fmt.Sprintf("m%x,%x", addr+uint32(off), n))
			if err != nil {
				return fmt.Errorf("gdb: read 0x%08x: %w", addr+uint32(off), err)
			}
			if err := errorReply("read memory", resp); err != nil {
				return err
			}
			b, err := hex.DecodeString(resp)
			if err != nil || len(b) != n {
				return fmt.Errorf("%w: read 0x%08x: %d bytes of reply %q", ErrProtocol, addr+uint32(off), len(b), truncate(resp))
			}
			copy(p[off:], b)
		}
		return nil
	})
}

// WriteMemory writes p at addr with binary X packets, escaped, in pieces the packet size allows.
// A server that does not know X (an empty reply: QEMU 7.2's gdbstub) gets hex M packets from
// then on, as GDB does.
func (c *Client) WriteMemory(ctx context.Context, addr uint32, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.halted(ctx, func() error {
		for off := 0; off < len(p); {
			a := addr + uint32(off)
			var pkt string
			var n int
			if c.noX {
				// Two hex digits per byte, plus the header.
				n = min((c.packetSize-32)/2, len(p)-off)
				pkt = fmt.Sprintf("M%x,%x:", a, n) + hex.EncodeToString(p[off:off+n])
			} else {
				// Worst case every byte is escaped: two bytes each, plus the header.
				n = min((c.packetSize-32)/2, len(p)-off)
				pkt = fmt.Sprintf("X%x,%x:", a, n) + string(p[off:off+n]) // Frame escapes it
			}
			resp, err := c.exchange(ctx, pkt)
			if err != nil {
				return fmt.Errorf("gdb: write 0x%08x: %w", a, err)
			}
			if resp == "" && !c.noX {
				c.noX = true
				continue
			}
			if err := errorReply("write memory", resp); err != nil {
				return err
			}
			if resp != "OK" {
				return fmt.Errorf("%w: write 0x%08x: reply %q", ErrProtocol, a, truncate(resp))
			}
			off += n
		}
		return nil
	})
}

// Monitor runs a monitor command ("reset", "halt", "go") and returns its console output.
func (c *Client) Monitor(ctx context.Context, cmd string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.o.Halt != HaltInterrupt {
		return c.monitor(ctx, cmd)
	}
	// An all-stop server takes packets only while the core is halted.
	var out string
	err := c.halted(ctx, func() (err error) {
		out, err = c.monitor(ctx, cmd)
		return err
	})
	return out, err
}

func (c *Client) monitor(ctx context.Context, cmd string) (string, error) {
	if err := c.send("qRcmd," + hex.EncodeToString([]byte(cmd))); err != nil {
		return "", err
	}
	var out strings.Builder
	for {
		resp, err := c.recv(ctx)
		if err != nil {
			return out.String(), fmt.Errorf("gdb: monitor %s: %w", cmd, err)
		}
		switch {
		case strings.HasPrefix(resp, "O") && resp != "OK":
			// Console output, hex encoded; more packets follow.
			b, err := hex.DecodeString(resp[1:])
			if err != nil {
				return out.String(), fmt.Errorf("%w: monitor output %q", ErrProtocol, truncate(resp))
			}
			out.Write(b)
		case resp == "OK":
			return out.String(), nil
		case resp == "":
			return out.String(), fmt.Errorf("gdb: monitor %s: %w: not supported by the server", cmd, ErrProtocol)
		default:
			if err := errorReply("monitor "+cmd, resp); err != nil {
				return out.String(), err
			}
			// Some servers answer with the text hex encoded, without "O".
			if b, err := hex.DecodeString(resp); err == nil {
				out.Write(b)
				return out.String(), nil
			}
			return out.String(), fmt.Errorf("%w: monitor %s: reply %q", ErrProtocol, cmd, truncate(resp))
		}
	}
}

// Halted runs fn with the core halted, once for all the memory accesses fn makes through this
// client (a whole RTT poll: descriptor, data and offset), and resumes it after. Calls may
// overlap (from different goroutines): the core runs again when the last one returns. Without
// a halt mode it just runs fn.
func (c *Client) Halted(ctx context.Context, fn func() error) error {
	if c.o.Halt == HaltNone {
		return fn()
	}
	c.mu.Lock()
	if c.holds == 0 {
		if err := c.halt(ctx); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	c.holds++
	c.mu.Unlock()
	err := fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds--
	if c.holds == 0 {
		err = errors.Join(err, c.resume(context.WithoutCancel(ctx)))
	}
	return err
}

// halted runs fn (one access, c.mu held) with the core halted when the options ask for it and
// no Halted batch holds it already.
func (c *Client) halted(ctx context.Context, fn func() error) error {
	if c.o.Halt == HaltNone || c.holds > 0 {
		return fn()
	}
	if err := c.halt(ctx); err != nil {
		return err
	}
	err := fn()
	return errors.Join(err, c.resume(context.WithoutCancel(ctx)))
}

// halt stops the core (c.mu held).
func (c *Client) halt(ctx context.Context) error {
	switch c.o.Halt {
	case HaltMonitor:
		_, err := c.monitor(ctx, "halt")
		return err
	case HaltInterrupt:
		if c.stopped {
			return nil
		}
		c.conn.SetDeadline(c.deadline(ctx))
		if c.broken != nil {
			return c.broken
		}
		if _, err := c.conn.Write([]byte{0x03}); err != nil {
			c.failed(err)
			return fmt.Errorf("gdb: interrupt: %w", err)
		}
		if err := c.waitStop(ctx); err != nil {
			return fmt.Errorf("gdb: interrupt: %w", err)
		}
	}
	return nil
}

// resume lets the core run again (c.mu held).
func (c *Client) resume(ctx context.Context) error {
	switch c.o.Halt {
	case HaltMonitor:
		_, err := c.monitor(ctx, "go")
		return err
	case HaltInterrupt:
		// "c" has no reply until the core stops again; the next 0x03 brings that stop reply.
		if err := c.send("c"); err != nil {
			return fmt.Errorf("gdb: continue: %w", err)
		}
		c.stopped = false
	}
	return nil
}

// waitStop reads packets until a stop reply (S or T), skipping console output (O).
func (c *Client) waitStop(ctx context.Context) error {
	for {
		resp, err := c.recv(ctx)
		if err != nil {
			return err
		}
		switch {
		case isStopReply(resp):
			c.stopped = true
			return nil
		case len(resp) >= 3 && (resp[0] == 'W' || resp[0] == 'X') && isHex(resp[1:3]):
			return fmt.Errorf("%w: %q", ErrTargetExited, resp)
		case strings.HasPrefix(resp, "O") && resp != "OK":
			continue
		default:
			return fmt.Errorf("%w: %q where a stop reply was expected", ErrProtocol, truncate(resp))
		}
	}
}

// isStopReply: "Sxx" or "Txx…" with a two-hex-digit signal number. No other reply this client
// waits for looks like one (memory replies are lowercase hex; qSupported's are features).
func isStopReply(resp string) bool {
	if len(resp) < 3 || !isHex(resp[1:3]) {
		return false
	}
	switch resp[0] {
	case 'S':
		return len(resp) == 3
	case 'T':
		return len(resp) == 3 || strings.Contains(resp[3:], ":")
	}
	return false
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func errorReply(op, resp string) error {
	if len(resp) == 3 && resp[0] == 'E' {
		return &ServerError{Op: op, Code: resp[1:]}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// exchange sends a packet and returns the reply packet's data. A stop reply before it is not
// the answer: an all-stop server sends one unasked when it stops a running core because a
// debugger connected (QEMU does, at once, before any reply).
func (c *Client) exchange(ctx context.Context, data string) (string, error) {
	if err := c.send(data); err != nil {
		return "", err
	}
	for {
		resp, err := c.recv(ctx)
		if err != nil || !isStopReply(resp) {
			return resp, err
		}
		c.stopped = true
	}
}

func (c *Client) deadline(ctx context.Context) time.Time {
	d := time.Now().Add(c.o.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
		return dl
	}
	return d
}

// send writes one packet; in ack mode it waits for '+' and resends once on '-'.
func (c *Client) send(data string) error {
	if c.broken != nil {
		return c.broken
	}
	err := c.sendFrame(data)
	c.failed(err)
	return err
}

// failed marks the connection unusable after an I/O error (not after a protocol-level one).
func (c *Client) failed(err error) {
	var ne net.Error
	if c.broken == nil && err != nil && (errors.As(err, &ne) || errors.Is(err, io.EOF)) {
		c.broken = fmt.Errorf("gdb: connection unusable after an earlier failure: %w", err)
	}
}

func (c *Client) sendFrame(data string) error {
	frame := Frame([]byte(data))
	for try := 0; try < 2; try++ {
		c.conn.SetDeadline(time.Now().Add(c.o.Timeout))
		if _, err := c.conn.Write(frame); err != nil {
			return fmt.Errorf("gdb: send: %w", err)
		}
		if c.noAck {
			return nil
		}
		acked, err := c.ack()
		if err != nil {
			return err
		}
		if acked {
			return nil
		}
	}
	return fmt.Errorf("%w: the server refused the packet twice", ErrProtocol)
}

// ack waits for the server's '+' (true) or '-' (false).
func (c *Client) ack() (bool, error) {
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return false, fmt.Errorf("gdb: waiting for ack: %w", err)
		}
		switch b {
		case '+':
			return true, nil
		case '-':
			return false, nil
		case '$':
			// A packet the server sent on its own before acking ours (QEMU's stop reply when a
			// debugger connects to a running core): take it, then wait for the ack again.
			if err := c.r.UnreadByte(); err != nil {
				return false, fmt.Errorf("gdb: %w", err)
			}
			if err := c.unsolicited(); err != nil {
				return false, err
			}
		default:
			return false, fmt.Errorf("%w: %q where an ack was expected", ErrProtocol, b)
		}
	}
}

// unsolicited reads and acknowledges a packet that arrived while an ack was expected. Only a
// stop reply may come then.
func (c *Client) unsolicited() error {
	data, ok, err := ReadPacket(c.r)
	if err != nil {
		return err
	}
	if !ok || !isStopReply(string(data)) {
		return fmt.Errorf("%w: packet %q where an ack was expected", ErrProtocol, truncate(string(data)))
	}
	if !c.noAck {
		if _, err := c.conn.Write([]byte{'+'}); err != nil {
			return fmt.Errorf("gdb: ack: %w", err)
		}
	}
	c.stopped = true
	return nil
}

// recv reads one packet, checks its checksum and acknowledges it (ack mode).
func (c *Client) recv(ctx context.Context) (string, error) {
	if c.broken != nil {
		return "", c.broken
	}
	data, err := c.recvPacket(ctx)
	c.failed(err)
	return data, err
}

func (c *Client) recvPacket(ctx context.Context) (string, error) {
	for try := 0; try < 2; try++ {
		c.conn.SetDeadline(c.deadline(ctx))
		data, ok, err := ReadPacket(c.r)
		if err != nil {
			return "", err
		}
		if c.noAck {
			if !ok {
				return "", fmt.Errorf("%w: bad checksum", ErrProtocol)
			}
			return string(data), nil
		}
		if ok {
			if _, err := c.conn.Write([]byte{'+'}); err != nil {
				return "", fmt.Errorf("gdb: ack: %w", err)
			}
			return string(data), nil
		}
		if _, err := c.conn.Write([]byte{'-'}); err != nil {
			return "", fmt.Errorf("gdb: nak: %w", err)
		}
	}
	return "", fmt.Errorf("%w: bad checksum twice", ErrProtocol)
}
