// Package gdb is a GDB remote serial protocol client for memory access: the RTT engine's
// backend for JLinkGDBServer, OpenOCD, pyOCD and QEMU's gdbstub (rtt-jlink-plugins.md §2.3).
//
// It speaks the packet layer ($data#cs with acks, or no-ack mode after QStartNoAckMode), asks the
// server's PacketSize, reads with m, writes with X (binary, escaped) or M (hex), and passes
// monitor commands with qRcmd. Servers that cannot touch memory while the core runs (QEMU) are
// handled by halting around each access when HaltForAccess is set.
package gdb

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
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

// Options tune a connection.
type Options struct {
	// Timeout bounds each request/response exchange (default 5 s).
	Timeout time.Duration
	// HaltForAccess halts the core before each memory access and resumes it after, for servers
	// that cannot read or write while the core runs.
	HaltForAccess bool
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
	return c, nil
}

// Close ends the connection.
func (c *Client) Close() error { return c.conn.Close() }

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
func (c *Client) WriteMemory(ctx context.Context, addr uint32, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.halted(ctx, func() error {
		// Worst case every byte is escaped: two bytes each, plus the header.
		chunk := (c.packetSize - 32) / 2
		for off := 0; off < len(p); off += chunk {
			n := min(chunk, len(p)-off)
			pkt := fmt.Sprintf("X%x,%x:", addr+uint32(off), n) + string(p[off:off+n]) // Frame escapes it
			resp, err := c.exchange(ctx, pkt)
			if err != nil {
				return fmt.Errorf("gdb: write 0x%08x: %w", addr+uint32(off), err)
			}
			if err := errorReply("write memory", resp); err != nil {
				return err
			}
			if resp != "OK" {
				return fmt.Errorf("%w: write 0x%08x: reply %q", ErrProtocol, addr+uint32(off), truncate(resp))
			}
		}
		return nil
	})
}

// Monitor runs a monitor command ("reset", "halt", "go") and returns its console output.
func (c *Client) Monitor(ctx context.Context, cmd string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.monitor(ctx, cmd)
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

// halted runs fn with the core halted when the options ask for it.
func (c *Client) halted(ctx context.Context, fn func() error) error {
	if !c.o.HaltForAccess {
		return fn()
	}
	if _, err := c.monitor(ctx, "halt"); err != nil {
		return err
	}
	err := fn()
	if _, gerr := c.monitor(ctx, "go"); gerr != nil {
		err = errors.Join(err, gerr)
	}
	return err
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

// exchange sends a packet and returns the reply packet's data.
func (c *Client) exchange(ctx context.Context, data string) (string, error) {
	if err := c.send(data); err != nil {
		return "", err
	}
	return c.recv(ctx)
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
	frame := Frame([]byte(data))
	for try := 0; try < 2; try++ {
		c.conn.SetDeadline(time.Now().Add(c.o.Timeout))
		if _, err := c.conn.Write(frame); err != nil {
			return fmt.Errorf("gdb: send: %w", err)
		}
		if c.noAck {
			return nil
		}
		b, err := c.r.ReadByte()
		if err != nil {
			return fmt.Errorf("gdb: waiting for ack: %w", err)
		}
		switch b {
		case '+':
			return nil
		case '-':
			continue
		default:
			return fmt.Errorf("%w: %q where an ack was expected", ErrProtocol, b)
		}
	}
	return fmt.Errorf("%w: the server refused the packet twice", ErrProtocol)
}

// recv reads one packet, checks its checksum and acknowledges it (ack mode).
func (c *Client) recv(ctx context.Context) (string, error) {
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
