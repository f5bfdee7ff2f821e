// Package serialtransport is the built-in "serial" transport: serialio
// behind the plugin contract. The nrfprov binary serves it in plugin mode
// (`nrfprov plugin serve serial`); it can also be used in-process.
package serialtransport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/sirupsen/logrus"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// Name is the transport's name.
const Name = "serial"

// Transport opens serial ports by path: a J-Link VCOM, a USB-UART, a
// /dev/serial/by-id link or a pseudo-terminal.
type Transport struct {
	version string
	log     *logrus.Entry
}

var (
	_ plugin.Transport    = (*Transport)(nil)
	_ plugin.TargetLister = (*Transport)(nil)
)

// New returns the serial transport; version is reported by Describe.
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
		Description:  "serial ports (J-Link VCOM, USB-UART, PTY), 8N1",
		Capabilities: []plugin.Capability{plugin.CapBaud, plugin.CapFlowControl, plugin.CapListTargets},
	}, nil
}

// Open implements plugin.Transport. The address is a port path; no options
// are defined.
func (t *Transport) Open(_ context.Context, req plugin.OpenRequest) (plugin.Conn, error) {
	if req.Address == "" {
		return nil, fmt.Errorf("serialtransport: open: empty port path: %w", plugin.ErrInvalidArgument)
	}
	if len(req.Options) > 0 {
		keys := slices.Sorted(maps.Keys(req.Options))
		return nil, fmt.Errorf("serialtransport: open %s: unknown options %q: %w", req.Address, keys, plugin.ErrInvalidArgument)
	}
	p, err := serialio.Open(req.Address, serialio.Config{Baud: req.Baud, FlowControl: req.FlowControl})
	if err != nil {
		return nil, kinded(err)
	}
	t.log.WithFields(logrus.Fields{"port": req.Address, "baud": cmp.Or(req.Baud, serialio.DefaultBaud),
		"rtscts": req.FlowControl, "pty": p.IsPTY()}).Debug("serial port open")
	return conn{p}, nil
}

// ListTargets implements plugin.TargetLister: every USB serial port, with
// the board it belongs to.
func (t *Transport) ListTargets(context.Context) ([]plugin.Target, error) {
	ports, err := serialio.ListPorts()
	if err != nil {
		return nil, kinded(err)
	}
	var out []plugin.Target
	for _, b := range serialio.Boards(ports) {
		for i, p := range b.Ports {
			desc := "USB " + b.VID + ":" + b.PID
			if b.Model != "" {
				desc = b.Model
			}
			out = append(out, plugin.Target{
				Address:      p.Path,
				SerialNumber: b.SerialNumber,
				Description:  fmt.Sprintf("%s VCOM%d", desc, i),
				Properties: map[string]string{
					"vid": b.VID, "pid": b.PID, "vcom": strconv.Itoa(i), "interface": strconv.Itoa(p.Interface),
				},
			})
		}
	}
	return out, nil
}

// conn translates serialio errors into plugin kinds.
type conn struct{ p *serialio.Port }

func (c conn) Read(b []byte) (int, error) {
	n, err := c.p.Read(b)
	return n, kinded(err)
}

func (c conn) Write(b []byte) (int, error) {
	n, err := c.p.Write(b)
	return n, kinded(err)
}

func (c conn) Close() error { return kinded(c.p.Close()) }

var kinds = []struct{ from, to error }{
	{serialio.ErrNotFound, plugin.ErrNotFound},
	{serialio.ErrBusy, plugin.ErrBusy},
	{serialio.ErrPermission, plugin.ErrPermission},
	{serialio.ErrInvalidConfig, plugin.ErrInvalidArgument},
	{serialio.ErrNotSerial, plugin.ErrNotFound}, // a file that is no serial port: no board there
	{serialio.ErrDisconnected, plugin.ErrDisconnected},
}

func kinded(err error) error {
	for _, k := range kinds {
		if errors.Is(err, k.from) {
			return plugin.WithKind(err, k.to)
		}
	}
	return err
}
