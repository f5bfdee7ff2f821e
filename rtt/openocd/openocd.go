// Package openocd drives OpenOCD's RTT support through its Tcl RPC port (default 6666): every
// command is sent terminated by 0x1a and answered with its result terminated by 0x1a.
//
// StartRTT runs what OpenOCD's manual shows for RTT (rtt §2.5):
//
//	rtt setup 0x20000000 0x40000 "SEGGER RTT"   (the nRF91's RAM by default)
//	rtt start                                    (repeated until `rtt channels` lists channels)
//	rtt server start <port> <channel>
//
// and connects to the raw TCP server OpenOCD then serves for the channel. Reset runs
// `reset run` and attaches again (setup and start find a block that moved).
//
// OpenOCD reports most failures in its log, not in the Tcl result; what the result carries
// ("invalid command name …", a usage text, "couldn't bind …") is recognised as an error
// [inferred from OpenOCD's source: tcl_server.c returns the interpreter's result].
package openocd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nrfprov/nrfprov/rtt"
)

// DefaultPort is OpenOCD's default Tcl port.
const DefaultPort = 6666

const term = 0x1a

// commandTimeout bounds a command whose ctx has no deadline.
const commandTimeout = 10 * time.Second

var (
	// ErrCommand: OpenOCD answered a command with an error.
	ErrCommand = errors.New("openocd: command failed")
	// ErrBroken: an earlier command was cut short, so the client closed its connection.
	ErrBroken = errors.New("openocd: Tcl connection closed after an interrupted command")
	// ErrNoControlBlock: `rtt start` found no control block before the deadline.
	ErrNoControlBlock = errors.New("openocd: rtt: control block not found")
	// ErrNoTarget: OpenOCD runs without a target (`target names` is empty), so its rtt
	// commands do nothing and answer nothing (OpenOCD 0.12 logs their usage instead).
	ErrNoTarget = errors.New("openocd: no target configured")
)

// Client is a connection to OpenOCD's Tcl port. Its methods may be called from several
// goroutines; commands run one at a time.
type Client struct {
	addr string
	mu   sync.Mutex
	c    net.Conn
	r    *bufio.Reader
	// broken is why the connection was closed after a cut exchange.
	broken error
}

// Dial connects to OpenOCD's Tcl port at addr (host:port).
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("openocd: connect to the Tcl port %s: %w", addr, err)
	}
	return &Client{addr: addr, c: c, r: bufio.NewReader(c)}, nil
}

// Addr is the Tcl port's address.
func (c *Client) Addr() string { return c.addr }

// Close closes the Tcl connection.
func (c *Client) Close() error { return c.c.Close() }

// Command sends one Tcl command and returns its result. An exchange cut short (ctx, a
// deadline, a broken connection) leaves the stream out of step, so it closes the client: later
// commands fail with ErrBroken.
func (c *Client) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsRune(cmd, term) {
		return "", fmt.Errorf("openocd: command %q contains 0x1a", cmd)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrBroken, cmd, c.broken)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(commandTimeout)
	}
	c.c.SetDeadline(deadline)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { c.c.SetDeadline(time.Now()); close(fired) })
	defer func() {
		if !stop() {
			<-fired // the deadline was cut: wait, so it cannot land on the next command
		}
	}()
	if _, err := c.c.Write(append([]byte(cmd), term)); err != nil {
		return "", c.fail(ctx, cmd, err)
	}
	reply, err := c.r.ReadString(term)
	if err != nil {
		return "", c.fail(ctx, cmd, err)
	}
	return strings.TrimSuffix(reply, string(rune(term))), nil
}

// fail closes the connection after a cut exchange; c.mu is held.
func (c *Client) fail(ctx context.Context, cmd string, err error) error {
	err = c.ioErr(ctx, cmd, err)
	c.broken = err
	c.c.Close()
	return err
}

func (c *Client) ioErr(ctx context.Context, cmd string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("openocd: %s: %q: %w", c.addr, cmd, err)
}

// errorMarks are what OpenOCD's Tcl results say when a command failed.
var errorMarks = []string{"invalid command name", "wrong # args", "usage:", "error", "failed", "couldn't", "invalid", "not available", "unmatched", "missing close"}

// Exec runs a command that returns nothing on success; a reply that reads like an error is
// one (ErrCommand).
func (c *Client) Exec(ctx context.Context, cmd string) (string, error) {
	r, err := c.Command(ctx, cmd)
	if err != nil {
		return "", err
	}
	low := strings.ToLower(r)
	for _, m := range errorMarks {
		if strings.Contains(low, m) {
			return r, fmt.Errorf("%w: %q: %s", ErrCommand, cmd, r)
		}
	}
	return r, nil
}

// RTTConfig says where OpenOCD looks for the control block and what it serves.
type RTTConfig struct {
	// Search is where `rtt setup` searches; default the nRF91's RAM (0x20000000, 256 KiB).
	Search rtt.Range
	// ID is the control block ID; default "SEGGER RTT".
	ID string
	// Channel is the RTT channel the server carries (up and down); default 0.
	Channel int
	// Port is the TCP port for `rtt server start`; 0 picks a free port on this machine, which
	// works only when OpenOCD runs here too.
	Port int
	// Poll sets `rtt polling_interval` (OpenOCD's default is 100 ms); 0 leaves it.
	Poll time.Duration
	// Attach bounds the wait for the control block (the target writes its ID last, at boot);
	// default 5 s, also bounded by ctx.
	Attach time.Duration
}

func (cfg *RTTConfig) defaults() error {
	if cfg.Search.Size == 0 {
		cfg.Search = rtt.NRF91RAM[0]
	}
	if cfg.ID == "" {
		cfg.ID = "SEGGER RTT"
	}
	if strings.ContainsAny(cfg.ID, "\"\\[]{}$;\x1a") || len(cfg.ID) > 16 {
		return fmt.Errorf("openocd: control block ID %q: at most 16 characters, none of \" \\ [ ] { } $ ;", cfg.ID)
	}
	if cfg.Channel < 0 || cfg.Channel > 255 {
		return fmt.Errorf("openocd: RTT channel %d: want 0..255", cfg.Channel)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("openocd: RTT server port %d: want 1..65535, or 0 for a free one", cfg.Port)
	}
	if cfg.Attach <= 0 {
		cfg.Attach = 5 * time.Second
	}
	return nil
}

// RTT is an open RTT channel through OpenOCD's RTT server: a byte stream. Read and Write may
// run at once.
type RTT struct {
	net.Conn
	c    *Client
	cfg  RTTConfig
	port int
	// ControlBlock is what `rtt start` reported, e.g. "rtt: Control block found at 0x20000410"
	// (empty when OpenOCD logs it instead).
	ControlBlock string
	once         sync.Once
}

// StartRTT sets RTT up, waits for the control block, starts a server for cfg.Channel and
// connects to it.
func (c *Client) StartRTT(ctx context.Context, cfg RTTConfig) (*RTT, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	// Without a target OpenOCD's rtt commands answer nothing, as they do while the control
	// block is not there yet: ask first, rather than wait out the attach time.
	names, err := c.Command(ctx, "target names")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(names) == "" {
		return nil, fmt.Errorf("%w: OpenOCD at %s has no target (`target names` is empty): start it with a config for the board, "+
			"e.g. -f board/nordic/nrf9160-dk.cfg (upstream OpenOCD after 0.12.0; Debian's 0.12.0 has no nRF91 scripts)", ErrNoTarget, c.addr)
	}
	if cfg.Poll > 0 {
		if _, err := c.Exec(ctx, fmt.Sprintf("rtt polling_interval %d", max(1, cfg.Poll.Milliseconds()))); err != nil {
			return nil, err
		}
	}
	found, err := c.attach(ctx, cfg)
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return nil, fmt.Errorf("openocd: Tcl address %q: %w", c.addr, err)
	}
	port := cfg.Port
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("rtt server start %d %d", port, cfg.Channel)); err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		c.stopServer(port)
		return nil, fmt.Errorf("openocd: connect to the RTT server on port %d: %w", port, err)
	}
	return &RTT{Conn: conn, c: c, cfg: cfg, port: port, ControlBlock: found}, nil
}

// attach runs rtt setup, then rtt start until `rtt channels` lists the channels. The attach
// time is checked between commands, so no command is cut short (a reply left in flight would
// put the Tcl stream out of step).
func (c *Client) attach(ctx context.Context, cfg RTTConfig) (string, error) {
	if _, err := c.Exec(ctx, fmt.Sprintf(`rtt setup 0x%08x 0x%x "%s"`, cfg.Search.Start, cfg.Search.Size, cfg.ID)); err != nil {
		return "", err
	}
	giveUp := time.NewTimer(cfg.Attach)
	defer giveUp.Stop()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		started, err := c.Command(ctx, "rtt start")
		if err != nil {
			return "", err
		}
		ch, err := c.Command(ctx, "rtt channels")
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(ch, "Channels:") {
			return started, nil
		}
		select {
		case <-t.C:
		case <-giveUp.C:
			return "", fmt.Errorf("%w in %s (%s) within %v: %q (is the firmware built with RTT and running?)", ErrNoControlBlock, cfg.Search, c.addr, cfg.Attach, started)
		case <-ctx.Done():
			return "", fmt.Errorf("%w in %s (%s): %w", ErrNoControlBlock, cfg.Search, c.addr, ctx.Err())
		}
	}
}

func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("openocd: pick a port for the RTT server on %s (give one when OpenOCD runs elsewhere): %w", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (c *Client) stopServer(port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, fmt.Sprintf("rtt server stop %d", port))
	return err
}

// Port is the RTT server's port.
func (r *RTT) Port() int { return r.port }

// Reset resets the target with `reset run` and attaches RTT again: a warm reset keeps the
// control block, a new image may have moved it, so setup and start search again. The RTT
// server and its connection stay.
func (r *RTT) Reset(ctx context.Context) error {
	if _, err := r.c.Exec(ctx, "reset run"); err != nil {
		return err
	}
	if _, err := r.c.Exec(ctx, "rtt stop"); err != nil {
		return err
	}
	_, err := r.c.attach(ctx, r.cfg)
	return err
}

// Close stops the RTT server and closes the stream (not the Tcl client).
func (r *RTT) Close() error {
	var err error
	r.once.Do(func() {
		err = errors.Join(r.c.stopServer(r.port), r.Conn.Close())
	})
	return err
}
