// Package rtttransport is the built-in "rtt" transport: the RTT engine (package rtt) over a
// debugger's GDB remote-protocol server (JLinkGDBServer, OpenOCD, pyOCD, QEMU) behind the plugin
// contract. Its byte stream is an RTT up/down channel pair; it can reset the board through the
// debugger ("monitor reset") and finds the control block again afterwards.
package rtttransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
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
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	return &Transport{version: version, log: log}
}

// Describe implements plugin.Transport.
func (t *Transport) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{
		Name:         Name,
		Version:      t.version,
		Description:  "SEGGER RTT through a GDB server (JLinkGDBServer, OpenOCD, pyOCD, QEMU): address host:port",
		Capabilities: []plugin.Capability{plugin.CapReset},
	}, nil
}

// options are the transport-specific settings of Open.
type options struct {
	up, down rtt.Selector
	poll     time.Duration
	halt     bool
	attach   time.Duration
}

func parseOptions(in map[string]string) (options, error) {
	o := options{up: rtt.Index(0), down: rtt.Index(0), poll: 2 * time.Millisecond, attach: 5 * time.Second}
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
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("rtttransport: option halt=%q: want true or false: %w", v, plugin.ErrInvalidArgument)
			}
			o.halt = b
		default:
			return o, fmt.Errorf("rtttransport: unknown option %q (known: up, down, poll, halt): %w", k, plugin.ErrInvalidArgument)
		}
	}
	return o, nil
}

func selector(v string) rtt.Selector {
	if i, err := strconv.Atoi(v); err == nil {
		return rtt.Index(i)
	}
	return rtt.Named(v)
}

// Open implements plugin.Transport: connect to the GDB server at req.Address, find the control
// block and the channels.
func (t *Transport) Open(ctx context.Context, req plugin.OpenRequest) (plugin.Conn, error) {
	if req.Address == "" {
		return nil, fmt.Errorf("rtttransport: open: empty address (want the GDB server's host:port): %w", plugin.ErrInvalidArgument)
	}
	o, err := parseOptions(req.Options)
	if err != nil {
		return nil, err
	}
	addr := strings.TrimPrefix(req.Address, "gdb://")
	c, err := gdb.Dial(ctx, addr, gdb.Options{NoAck: true, HaltForAccess: o.halt})
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
func (c *conn) attach(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.attach)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		cb, err := rtt.Attach(ctx, c.gdb, rtt.Config{})
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
		// Not found yet, or a scan cut by the attach deadline: try again until it runs out.
		// Anything else (the debugger went away) ends the attach now.
		if !errors.Is(err, rtt.ErrNoControlBlock) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			if errors.Is(err, rtt.ErrNoControlBlock) {
				return plugin.WithKind(fmt.Errorf("rtttransport: %w (is the firmware built with RTT and running?)", err), plugin.ErrNotFound)
			}
			return plugin.WithKind(fmt.Errorf("rtttransport: %w within %v (is the firmware built with RTT and running?); the last scan: %w", rtt.ErrNoControlBlock, c.o.attach, err), plugin.ErrNotFound)
		}
	}
}

func (c *conn) channels() (*rtt.UpChannel, *rtt.DownChannel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.down
}

// Read returns what the target wrote to the up channel, polling until there is some.
func (c *conn) Read(b []byte) (int, error) {
	t := time.NewTicker(c.o.poll)
	defer t.Stop()
	for {
		up, _ := c.channels()
		n, err := up.Read(c.ctx, b)
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

// Write fills the down channel as the target drains it.
func (c *conn) Write(b []byte) (int, error) {
	_, down := c.channels()
	w := &rtt.Writer{Ch: down, Poll: c.o.poll}
	n, err := w.Write(c.ctx, b)
	return n, c.closed(err)
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

// Reset implements plugin.Resetter: "monitor reset" through the debugger, then find the
// control block again (a reset may move or re-initialise it).
func (c *conn) Reset(ctx context.Context, req plugin.ResetRequest) error {
	cmd := "reset"
	if req.Kind != "" && req.Kind != "system" {
		return fmt.Errorf("rtttransport: reset kind %q: only system resets go through the debugger: %w", req.Kind, plugin.ErrInvalidArgument)
	}
	if _, err := c.gdb.Monitor(ctx, cmd); err != nil {
		return fmt.Errorf("rtttransport: reset: %w", err)
	}
	return c.attach(ctx)
}
