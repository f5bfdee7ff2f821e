package rtttransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
	"github.com/nrfprov/nrfprov/rtt/jlink"
	"github.com/nrfprov/nrfprov/rtt/openocd"
)

// Backends: how the transport reaches the target's RTT. The address's scheme chooses one
// (gdb://host:port or a bare host:port, jlink://host:port, openocd://host:port), or the option
// backend=gdb|jlink|openocd.
const (
	backendGDB     = "gdb"
	backendJLink   = "jlink"
	backendOpenOCD = "openocd"
)

// splitAddress returns the backend and host:port of an address. A missing port takes the
// backend's default: 2331 (JLinkGDBServer) for gdb, 19021 for jlink, 6666 for openocd.
func splitAddress(addr, option string) (backend, hostport string, err error) {
	backend = backendGDB
	hostport = addr
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		backend, hostport = strings.ToLower(scheme), rest
	}
	if option != "" {
		if hostport != addr && option != backend {
			return "", "", fmt.Errorf("rtttransport: address %q says %s, option backend=%s: %w", addr, backend, option, plugin.ErrInvalidArgument)
		}
		backend = option
	}
	def := map[string]int{backendGDB: 2331, backendJLink: jlink.DefaultPort, backendOpenOCD: openocd.DefaultPort}
	port, ok := def[backend]
	if !ok {
		return "", "", fmt.Errorf("rtttransport: backend %q: want gdb, jlink or openocd: %w", backend, plugin.ErrInvalidArgument)
	}
	if hostport == "" {
		return "", "", fmt.Errorf("rtttransport: address %q has no host: %w", addr, plugin.ErrInvalidArgument)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), strconv.Itoa(port))
	}
	return backend, hostport, nil
}

// backendOptions are the options each backend takes (on top of backend and require_reset).
var backendOptions = map[string][]string{
	backendGDB:     {"up", "down", "poll", "halt", "reset"},
	backendJLink:   {"channel", "addr", "search", "gdb"},
	backendOpenOCD: {"channel", "search", "poll", "rtt_port"},
}

// checkOptions refuses options the backend does not take, before anything is dialled.
func checkOptions(backend string, in map[string]string) error {
	known := append([]string{"backend", "require_reset"}, backendOptions[backend]...)
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if !slices.Contains(known, k) {
			return fmt.Errorf("rtttransport: option %q does not apply to the %s backend (it takes: %s): %w",
				k, backend, strings.Join(known, ", "), plugin.ErrInvalidArgument)
		}
	}
	return nil
}

// remoteOptions are the jlink and openocd backends' settings.
type remoteOptions struct {
	channel int
	addr    *uint32
	search  []rtt.Range
	gdb     string
	poll    time.Duration
	rttPort int
}

func parseRemoteOptions(in map[string]string) (remoteOptions, error) {
	var o remoteOptions
	bad := func(k, v, want string) error {
		return fmt.Errorf("rtttransport: option %s=%q: want %s: %w", k, v, want, plugin.ErrInvalidArgument)
	}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := in[k]
		switch k {
		case "channel":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 255 {
				return o, bad(k, v, "a channel number 0..255")
			}
			o.channel = n
		case "addr":
			a, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				return o, bad(k, v, "the control block address, e.g. 0x20000410 (the ELF's _SEGGER_RTT)")
			}
			a32 := uint32(a)
			o.addr = &a32
		case "search":
			for _, part := range strings.Split(v, ",") {
				s, n, ok := strings.Cut(strings.TrimSpace(part), ":")
				start, err1 := strconv.ParseUint(s, 0, 32)
				size, err2 := strconv.ParseUint(n, 0, 32)
				if !ok || err1 != nil || err2 != nil || size == 0 {
					return o, bad(k, v, "start:size[,start:size…], e.g. 0x20000000:0x40000")
				}
				o.search = append(o.search, rtt.Range{Start: uint32(start), Size: uint32(size)})
			}
		case "gdb":
			if _, _, err := net.SplitHostPort(strings.TrimPrefix(v, "gdb://")); err != nil {
				return o, bad(k, v, "the GDB server's host:port (JLinkGDBServer: 2331)")
			}
			o.gdb = strings.TrimPrefix(v, "gdb://")
		case "poll":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Millisecond {
				return o, bad(k, v, "a duration of at least 1ms (rtt polling_interval)")
			}
			o.poll = d
		case "rtt_port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return o, bad(k, v, "a TCP port for OpenOCD's RTT server")
			}
			o.rttPort = n
		}
	}
	return o, nil
}

// streamConn is the byte stream of the jlink and openocd backends: a TCP connection whose
// errors take the plugin's kinds.
type streamConn struct {
	c      io.ReadWriteCloser
	closed chan struct{}
	once   sync.Once
	close  func() error
}

func newStreamConn(c io.ReadWriteCloser, close func() error) *streamConn {
	return &streamConn{c: c, closed: make(chan struct{}), close: close}
}

func (s *streamConn) kind(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-s.closed:
		return plugin.ErrClosed
	default:
	}
	if errors.Is(err, io.EOF) {
		return plugin.WithKind(fmt.Errorf("rtttransport: the RTT server closed the connection (did the debugger session end?): %w", err), plugin.ErrDisconnected)
	}
	return plugin.WithKind(err, plugin.ErrDisconnected)
}

func (s *streamConn) Read(p []byte) (int, error) {
	n, err := s.c.Read(p)
	return n, s.kind(err)
}

func (s *streamConn) Write(p []byte) (int, error) {
	n, err := s.c.Write(p)
	return n, s.kind(err)
}

func (s *streamConn) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.close()
	})
	return err
}

// openJLink connects to J-Link's RTT telnet server; with gdb=host:port it can reset through
// that GDB server (JLinkGDBServer's monitor reset; the J-Link DLL finds the block again).
func (t *Transport) openJLink(ctx context.Context, addr string, in map[string]string, requireReset bool) (plugin.Conn, error) {
	o, err := parseRemoteOptions(in)
	if err != nil {
		return nil, err
	}
	if requireReset && o.gdb == "" {
		return nil, fmt.Errorf("rtttransport: jlink://%s cannot reset the board by itself: add the option gdb=host:port (JLinkGDBServer's GDB port, 2331 by default): %w", addr, plugin.ErrNotSupported)
	}
	jo := jlink.Options{Address: o.addr, SearchRanges: o.search}
	if in["channel"] != "" {
		jo.Channel = &o.channel
	}
	var g *gdb.Client
	if o.gdb != "" {
		if g, err = gdb.Dial(ctx, o.gdb, gdb.Options{NoAck: true}); err != nil {
			return nil, plugin.WithKind(err, plugin.ErrNotFound)
		}
	}
	c, err := jlink.Dial(ctx, addr, jo)
	if err != nil {
		if g != nil {
			g.Close()
		}
		switch {
		case errors.Is(err, jlink.ErrGUIServer):
			return nil, plugin.WithKind(err, plugin.ErrBusy)
		}
		return nil, plugin.WithKind(err, plugin.ErrNotFound)
	}
	log := t.log.WithFields(logrus.Fields{"jlink": addr, "jlink_version": c.Version})
	log.Debug("rtt telnet connected")
	s := newStreamConn(c, func() error {
		err := c.Close()
		if g != nil {
			err = errors.Join(err, g.Close())
		}
		return err
	})
	if g == nil {
		return &jlinkConn{streamConn: s}, nil
	}
	return &jlinkResetConn{jlinkConn{streamConn: s}, g}, nil
}

// jlinkConn is a telnet stream without a way to reset.
type jlinkConn struct{ *streamConn }

// jlinkResetConn resets through a GDB server beside the telnet server.
type jlinkResetConn struct {
	jlinkConn
	g *gdb.Client
}

var _ plugin.Resetter = (*jlinkResetConn)(nil)

// Reset implements plugin.Resetter: "monitor reset" through the GDB server. The telnet stream
// stays: the J-Link DLL finds the control block again by itself.
func (c *jlinkResetConn) Reset(ctx context.Context, req plugin.ResetRequest) error {
	if req.Kind != "" && req.Kind != "system" {
		return fmt.Errorf("rtttransport: reset kind %q: only system resets go through the debugger: %w", req.Kind, plugin.ErrInvalidArgument)
	}
	if _, err := c.g.MonitorCommand(ctx, "reset"); err != nil {
		return fmt.Errorf("rtttransport: reset through %s: %w", "gdb", err)
	}
	return nil
}

// openOpenOCD drives OpenOCD's Tcl port: rtt setup/start, rtt server start, and connects.
func (t *Transport) openOpenOCD(ctx context.Context, addr string, in map[string]string) (plugin.Conn, error) {
	o, err := parseRemoteOptions(in)
	if err != nil {
		return nil, err
	}
	if len(o.search) > 1 {
		return nil, fmt.Errorf("rtttransport: OpenOCD's rtt setup takes one search range, not %d: %w", len(o.search), plugin.ErrInvalidArgument)
	}
	cfg := openocd.RTTConfig{Channel: o.channel, Port: o.rttPort, Poll: o.poll}
	if len(o.search) == 1 {
		cfg.Search = o.search[0]
	}
	if cfg.Poll == 0 {
		// OpenOCD polls every 100 ms by default; the shell drains its down buffer every 10 ms.
		cfg.Poll = 2 * time.Millisecond
	}
	tcl, err := openocd.Dial(ctx, addr)
	if err != nil {
		return nil, plugin.WithKind(err, plugin.ErrNotFound)
	}
	r, err := tcl.StartRTT(ctx, cfg)
	if err != nil {
		tcl.Close()
		if errors.Is(err, openocd.ErrNoControlBlock) {
			return nil, plugin.WithKind(err, plugin.ErrNotFound)
		}
		return nil, err
	}
	t.log.WithFields(logrus.Fields{"openocd": addr, "rtt_port": r.Port()}).Debug(r.ControlBlock)
	s := newStreamConn(r, func() error { return errors.Join(r.Close(), tcl.Close()) })
	return &openocdConn{streamConn: s, r: r}, nil
}

type openocdConn struct {
	*streamConn
	r *openocd.RTT
}

var _ plugin.Resetter = (*openocdConn)(nil)

// Reset implements plugin.Resetter: `reset run`, then RTT setup and start again.
func (c *openocdConn) Reset(ctx context.Context, req plugin.ResetRequest) error {
	if req.Kind != "" && req.Kind != "system" {
		return fmt.Errorf("rtttransport: reset kind %q: only system resets go through the debugger: %w", req.Kind, plugin.ErrInvalidArgument)
	}
	if err := c.r.Reset(ctx); err != nil {
		return fmt.Errorf("rtttransport: reset: %w", err)
	}
	return nil
}
