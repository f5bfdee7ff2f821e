// Package rtttransport is the built-in "rtt" transport: an RTT up/down channel pair behind the
// plugin contract, through one of three backends chosen by the address's scheme:
//
//   - gdb://host:port (or a bare host:port): the RTT engine (package rtt) over a debugger's GDB
//     remote-protocol server (JLinkGDBServer, OpenOCD, pyOCD, QEMU); resets with
//     "monitor reset" and finds the control block again;
//   - jlink://host:port: J-Link's RTT telnet server (package rtt/jlink); resets only with the
//     option gdb=host:port (JLinkGDBServer's GDB port);
//   - openocd://host:port: OpenOCD's Tcl port and the RTT server it starts (package
//     rtt/openocd); resets with `reset run` and attaches again.
package rtttransport

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// Name is the transport's name.
const Name = "rtt"

// Transport opens RTT channels through a GDB server at host:port.
type Transport struct {
	version string
	log     *logrus.Entry
}

var _ plugin.Transport = (*Transport)(nil)

// New returns the rtt transport; version is reported by Describe.
func New(version string, log *logrus.Entry) *Transport {
	if log == nil {
		log = plugin.DiscardLog()
	}
	return &Transport{version: version, log: log}
}

// Describe implements plugin.Transport.
func (t *Transport) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{
		Name:         Name,
		Version:      t.version,
		Description:  "SEGGER RTT through a GDB server (gdb://host:port), J-Link's RTT telnet server (jlink://host:19021) or OpenOCD (openocd://host:6666)",
		Capabilities: []plugin.Capability{plugin.CapReset},
	}, nil
}

// options are the transport-specific settings of Open.
type options struct {
	up, down rtt.Selector
	poll     time.Duration
	halt     gdb.HaltMode
	attach   time.Duration
	reset    string // the monitor command that resets the target
}

func parseOptions(in map[string]string) (options, error) {
	o := options{up: rtt.Index(0), down: rtt.Index(0), poll: 2 * time.Millisecond, attach: 5 * time.Second, reset: "reset"}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		switch k {
		case "up":
			o.up = selector(v)
		case "down":
			o.down = selector(v)
		case "poll":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return o, fmt.Errorf("rtttransport: option poll=%q: want a duration such as 2ms: %w", v, plugin.ErrInvalidArgument)
			}
			o.poll = d
		case "halt":
			h, err := parseHalt(v)
			if err != nil {
				return o, err
			}
			o.halt = h
		case "reset":
			// JLinkGDBServer, OpenOCD and pyOCD reset with "monitor reset"; QEMU's gdbstub
			// with "monitor system_reset".
			if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
				return o, fmt.Errorf("rtttransport: option reset=%q: want the debugger's monitor command for a reset, such as system_reset (QEMU): %w", v, plugin.ErrInvalidArgument)
			}
			o.reset = strings.TrimSpace(v)
		default:
			return o, fmt.Errorf("rtttransport: unknown option %q (known: up, down, poll, halt, reset): %w", k, plugin.ErrInvalidArgument)
		}
	}
	return o, nil
}

// parseHalt reads the halt option: none (false), monitor (true: "monitor halt"/"monitor go"),
// or interrupt (0x03 and "c", for QEMU's gdbstub).
func parseHalt(v string) (gdb.HaltMode, error) {
	switch strings.ToLower(v) {
	case "none", "false", "0":
		return gdb.HaltNone, nil
	case "monitor", "true", "1":
		return gdb.HaltMonitor, nil
	case "interrupt":
		return gdb.HaltInterrupt, nil
	}
	return gdb.HaltNone, fmt.Errorf("rtttransport: option halt=%q: want none, monitor (or true) or interrupt: %w", v, plugin.ErrInvalidArgument)
}

func selector(v string) rtt.Selector {
	if i, err := strconv.Atoi(v); err == nil {
		return rtt.Index(i)
	}
	return rtt.Named(v)
}

// Open implements plugin.Transport: reach the target's RTT through the backend the address
// names (see splitAddress) and find the channels.
func (t *Transport) Open(ctx context.Context, req plugin.OpenRequest) (plugin.Conn, error) {
	if req.Address == "" {
		return nil, fmt.Errorf("rtttransport: open: empty address (want gdb://host:port, jlink://host:port or openocd://host:port): %w", plugin.ErrInvalidArgument)
	}
	backend, addr, err := splitAddress(req.Address, req.Options["backend"])
	if err != nil {
		return nil, err
	}
	if err := checkOptions(backend, req.Options); err != nil {
		return nil, err
	}
	requireReset := false
	if v, ok := req.Options["require_reset"]; ok {
		if requireReset, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("rtttransport: option require_reset=%q: want true or false: %w", v, plugin.ErrInvalidArgument)
		}
	}
	opts := maps.Clone(req.Options)
	delete(opts, "backend")
	delete(opts, "require_reset")
	switch backend {
	case backendJLink:
		return t.openJLink(ctx, addr, opts, requireReset)
	case backendOpenOCD:
		return t.openOpenOCD(ctx, addr, opts)
	}
	return t.openGDB(ctx, addr, opts)
}

// openGDB reaches RTT through a GDB server: connect, find the control block and the channels.
func (t *Transport) openGDB(ctx context.Context, addr string, in map[string]string) (plugin.Conn, error) {
	o, err := parseOptions(in)
	if err != nil {
		return nil, err
	}
	c, err := gdb.Dial(ctx, addr, gdb.Options{NoAck: true, Halt: o.halt})
	if err != nil {
		return nil, plugin.WithKind(err, plugin.ErrNotFound)
	}
	cn := &conn{gdb: c, o: o, log: t.log.WithField("gdb", addr)}
	cn.ctx, cn.cancel = context.WithCancel(context.Background())
	if err := cn.attach(ctx); err != nil {
		c.Close()
		return nil, err
	}
	cn.log.WithField("control_block", fmt.Sprintf("0x%08x", cn.cb.Addr())).Debug("rtt attached")
	return cn, nil
}

// conn is an open RTT channel pair. Read and Write may run at once (the GDB client serialises
// memory access); Close stops both.
type conn struct {
	gdb *gdb.Client
	o   options
	log *logrus.Entry

	mu   sync.Mutex // guards cb, up, down (replaced after a reset)
	cb   *rtt.ControlBlock
	up   *rtt.UpChannel
	down *rtt.DownChannel

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	once   sync.Once
}

var _ plugin.Resetter = (*conn)(nil)

// attach finds the control block, retrying until it appears (the target writes its ID last, at
// boot) or the attach time runs out.
func (c *conn) attach(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, c.o.attach)
	var notFound error // the last "no control block" answer
	deadline, _ := ctx.Deadline()
	// expired: the attach time ran out (a read cut by its deadline may return a moment before
	// the context says so), not the caller's context.
	expired := func() bool { return parent.Err() == nil && (ctx.Err() != nil || !time.Now().Before(deadline)) }
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		var cb *rtt.ControlBlock
		err := c.gdb.Halted(ctx, func() (err error) {
			cb, err = rtt.Attach(ctx, c.gdb, rtt.Config{})
			return err
		})
		if err == nil {
			up, uerr := cb.Up(c.o.up)
			down, derr := cb.Down(c.o.down)
			if err := errors.Join(uerr, derr); err != nil {
				return plugin.WithKind(err, plugin.ErrNotFound)
			}
			c.mu.Lock()
			c.cb, c.up, c.down = cb, up, down
			c.mu.Unlock()
			return nil
		}
		if errors.Is(err, rtt.ErrControlBlockCorrupted) || errors.Is(err, rtt.ErrMultipleControlBlocks) {
			// There is no usable channel pair in the target's RAM.
			return plugin.WithKind(fmt.Errorf("rtttransport: %w", err), plugin.ErrNotFound)
		}
		if errors.Is(err, rtt.ErrNoControlBlock) {
			notFound = err
		} else if !expired() {
			// A real failure (the debugger went away), not the attach time running out in
			// the middle of a scan.
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		if expired() {
			if notFound == nil { // the first scan did not finish in time
				return plugin.WithKind(fmt.Errorf("rtttransport: %w within %v (is the firmware built with RTT and running?); the last scan: %w",
					rtt.ErrNoControlBlock, c.o.attach, err), plugin.ErrNotFound)
			}
			return plugin.WithKind(fmt.Errorf("rtttransport: no control block within %v: %w (is the firmware built with RTT and running?)", c.o.attach, notFound), plugin.ErrNotFound)
		}
	}
}

func (c *conn) channels() (*rtt.UpChannel, *rtt.DownChannel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.down
}

// Read returns what the target wrote to the up channel, polling until there is some. With a
// halt mode, one halt covers each poll.
func (c *conn) Read(b []byte) (int, error) {
	t := time.NewTicker(c.o.poll)
	defer t.Stop()
	for {
		up, _ := c.channels()
		var n int
		err := c.gdb.Halted(c.ctx, func() (err error) {
			n, err = up.Read(c.ctx, b)
			return err
		})
		if n > 0 || err != nil {
			return n, c.closed(err)
		}
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return 0, plugin.ErrClosed
		}
	}
}

// Write fills the down channel as the target drains it, as rtt.Writer does; with a halt mode,
// one halt covers each fill (descriptor, data, WrOff).
func (c *conn) Write(b []byte) (int, error) {
	_, down := c.channels()
	if c.o.halt == gdb.HaltNone {
		w := &rtt.Writer{Ch: down, Poll: c.o.poll}
		n, err := w.Write(c.ctx, b)
		return n, c.closed(err)
	}
	t := time.NewTicker(c.o.poll)
	defer t.Stop()
	total := 0
	for {
		var n int
		err := c.gdb.Halted(c.ctx, func() (err error) {
			n, err = down.Write(c.ctx, b[total:])
			return err
		})
		total += n
		if err != nil {
			return total, c.closed(fmt.Errorf("rtttransport: down channel: %d of %d bytes written: %w", total, len(b), err))
		}
		if total == len(b) {
			return total, nil
		}
		select {
		case <-t.C:
		case <-c.ctx.Done():
			return total, plugin.ErrClosed
		}
	}
}

func (c *conn) closed(err error) error {
	if err != nil && c.ctx.Err() != nil {
		return plugin.ErrClosed
	}
	return err
}

// Close implements io.Closer.
func (c *conn) Close() error {
	c.once.Do(c.cancel)
	return c.gdb.Close()
}

// Reset implements plugin.Resetter: "monitor reset" (or the reset= option's command) through
// the debugger, then find the control block again (a reset may move or re-initialise it).
func (c *conn) Reset(ctx context.Context, req plugin.ResetRequest) error {
	cmd := c.o.reset
	if req.Kind != "" && req.Kind != "system" {
		return fmt.Errorf("rtttransport: reset kind %q: only system resets go through the debugger: %w", req.Kind, plugin.ErrInvalidArgument)
	}
	// MonitorCommand reads the output: QEMU answers OK to a command it does not know.
	if _, err := c.gdb.MonitorCommand(ctx, cmd); err != nil {
		return fmt.Errorf("rtttransport: reset: %w", err)
	}
	return c.attach(ctx)
}
