// Package tcptransport is the "tcp" transport: a raw TCP connection to a serial port exported by
// ser2net (raw mode), a terminal server, or a board on the network (nrfsim --listen). The nrfprov
// binary serves it as a built-in (`nrfprov plugin serve tcp`); cmd/nrfprov-transport-tcp serves
// it as an external transport, the example a third party copies.
package tcptransport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/nrfprov/nrfprov/plugin"
)

// Name is the transport's name.
const Name = "tcp"

// Transport dials host:port.
type Transport struct {
	name    string
	version string
	log     *logrus.Entry
}

var _ plugin.Transport = (*Transport)(nil)

// New returns the tcp transport. name is what Describe reports (Name, unless an external copy
// is served under a name of its own); version too.
func New(name, version string, log *logrus.Entry) *Transport {
	if log == nil {
		log = plugin.DiscardLog()
	}
	return &Transport{name: name, version: version, log: log}
}

// Describe implements plugin.Transport.
func (t *Transport) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{
		Name:         t.name,
		Version:      t.version,
		Description:  "raw TCP to a remote serial port (ser2net raw mode, terminal servers)",
		Capabilities: []plugin.Capability{},
	}, nil
}

// Open dials address ("host:port"). The only option is "connect_timeout",
// a Go duration (default 5s).
func (t *Transport) Open(ctx context.Context, req plugin.OpenRequest) (plugin.Conn, error) {
	timeout := 5 * time.Second
	for k, v := range req.Options {
		switch k {
		case "connect_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("tcp: open %s: connect_timeout %q: %w", req.Address, v, plugin.ErrInvalidArgument)
			}
			timeout = d
		default:
			return nil, fmt.Errorf("tcp: open %s: unknown options %q: %w", req.Address,
				slices.Sorted(maps.Keys(req.Options)), plugin.ErrInvalidArgument)
		}
	}
	if req.Baud != 0 || req.FlowControl {
		return nil, fmt.Errorf("tcp: open %s: line settings belong to the remote end: %w", req.Address, plugin.ErrNotSupported)
	}
	if _, _, err := net.SplitHostPort(req.Address); err != nil {
		return nil, plugin.WithKind(fmt.Errorf("tcp: open: %w", err), plugin.ErrInvalidArgument)
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", req.Address)
	if err != nil {
		return nil, kinded(fmt.Errorf("tcp: open: %w", err))
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // AT traffic is small and interactive
	}
	t.log.WithField("address", req.Address).Debug("connected")
	return conn{c}, nil
}

// conn maps a dropped connection to ErrDisconnected.
type conn struct{ net.Conn }

func (c conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, kinded(err)
}

func (c conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, kinded(err)
}

func kinded(err error) error {
	switch {
	case err == nil:
		return nil
	case isAny(err, refused):
		return plugin.WithKind(err, plugin.ErrNotFound)
	case errors.Is(err, net.ErrClosed):
		return err
	case isAny(err, hungUp), errors.Is(err, io.EOF):
		return plugin.WithKind(err, plugin.ErrDisconnected)
	}
	return err
}

// refused and hungUp are the errors of a port nobody listens on and of a peer gone; Windows has
// its own Winsock numbers for them (kinds_windows.go).
var (
	refused = append([]error{syscall.ECONNREFUSED}, refusedOS...)
	hungUp  = append([]error{syscall.ECONNRESET, syscall.EPIPE}, hungUpOS...)
)

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
