// Package device connects nrfprov to one board: it picks the port, starts the transport
// plugin, opens the link, brings the AT host to a known state (sync, dialect and terminator,
// +CMEE=1) and hands out the AT session and the credential store on top of it.
package device

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/journal"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// Options say which board to open and how to talk to it.
type Options struct {
	// Transport names the transport plugin ("serial" by default).
	Transport string
	// Port is the transport's address (a port path for serial). Empty: find the board by
	// SerialNumber among the USB serial ports (serial transport only).
	Port string
	// Board is a J-Link serial number (leading zeros optional) that selects the board.
	Board string
	// Baud and RTSCTS configure the link. They are sent only to transports with the
	// capability (plugin.CapBaud, plugin.CapFlowControl); a transport without it gets none,
	// and is refused (ErrLineSettings) only when the user asked for the setting explicitly
	// (BaudExplicit; RTSCTS is never on by default).
	Baud         int
	BaudExplicit bool
	RTSCTS       bool
	// TransportOptions are the transport's own settings (rtt: up, down, poll, halt, …), passed
	// to its Open unchanged; the transport rejects keys it does not know.
	TransportOptions map[string]string
	// Terminator and Dialect: "auto" (or empty) detects them (§7.2 of the modem notes);
	// otherwise "cr", "lf", "crlf" and "raw", "shell".
	Terminator string
	Dialect    string
	// Timing is used for every command's deadline; Baud fills its link speed.
	Timing at.Timing
	// Store options: the device's line limit (0: the default for the detected dialect) and
	// whether reserved sec_tags may be written.
	LineLimit     int
	AllowReserved bool
	// Journal keeps the board's functional mode across runs (nil: none): Open restores a mode
	// an earlier run left journaled, and the Store journals its own changes.
	Journal *journal.Journal
	// ExpectBoot waits for the board's "Ready" first (after a reset or flash).
	ExpectBoot bool
	// Trace sees every byte on the link (secrets already replaced by their hash).
	Trace func(t time.Time, dir at.Direction, data []byte)
	// Progress sees each command's bytes as they go out and a long answer's as they come in.
	Progress func(at.Transfer)
	Log      *logrus.Entry
}

// ErrNoBoard: no board matched the selection, or none was named and none could be found.
var ErrNoBoard = errors.New("device: no board")

// ErrOption: an option that names no known terminator or dialect; nothing was opened.
var ErrOption = errors.New("device: bad option")

// ErrLineSettings: the user asked for a line setting (--baud, --rtscts) the transport does not
// have; nothing was opened.
var ErrLineSettings = errors.New("device: line setting not supported by the transport")

// openRequest is what the transport is asked to open: the line settings it has the capability
// for, and an error for a setting the user asked for explicitly that it does not have.
func openRequest(info plugin.Info, addr string, o Options) (plugin.OpenRequest, error) {
	req := plugin.OpenRequest{Address: addr, Options: o.TransportOptions}
	switch {
	case info.Has(plugin.CapBaud):
		req.Baud = o.Baud
	case o.BaudExplicit && o.Baud != 0:
		return req, fmt.Errorf("%w: transport %s does not set the line speed (--baud %d); the remote end or the probe sets it: leave --baud out",
			ErrLineSettings, info.Name, o.Baud)
	}
	switch {
	case info.Has(plugin.CapFlowControl):
		req.FlowControl = o.RTSCTS
	case o.RTSCTS:
		return req, fmt.Errorf("%w: transport %s has no RTS/CTS flow control (--rtscts); leave it out", ErrLineSettings, info.Name)
	}
	return req, nil
}

// Device is an open board.
type Device struct {
	Address  string
	Session  *at.Session
	Store    *cmng.Store
	Detected at.Detected
	// Restored is the journal entry Open acted on: an earlier run left the modem in another
	// functional mode, and Open put this one back. Nil when there was nothing to restore.
	Restored *journal.Entry

	client *plugin.Client
	conn   plugin.Conn
}

// Open connects to the board. The Host (transport plugins) belongs to the caller; the device's
// transport process is started here and stopped by Close.
func Open(ctx context.Context, h *plugin.Host, o Options) (*Device, error) {
	if o.Transport == "" {
		o.Transport = "serial"
	}
	term, dialect, err := parseLink(o)
	if err != nil {
		return nil, err
	}
	addr, err := resolveAddress(o)
	if err != nil {
		return nil, err
	}
	client, err := h.Start(ctx, o.Transport)
	if err != nil {
		return nil, err
	}
	req, err := openRequest(client.Info(), addr, o)
	if err != nil {
		client.Kill()
		return nil, err
	}
	conn, err := client.Open(ctx, req)
	if err != nil {
		client.Kill()
		return nil, err
	}
	d := &Device{Address: addr, client: client, conn: conn}
	timing := o.Timing
	if timing.Baud == 0 {
		timing.Baud = o.Baud
	}
	cfg := at.Config{Timing: timing, Trace: o.Trace, Progress: o.Progress, Quiet: quietFor(o.Transport, timing.Baud),
		PaceProgress: o.Transport == "serial" && timing.Baud > 0}
	if term != nil {
		cfg.Terminator = *term
	}
	if dialect != nil {
		cfg.Dialect = *dialect
	}
	d.Session = at.NewSession(conn, cfg)
	if err := d.prepare(ctx, o, term, dialect); err != nil {
		d.Close()
		return nil, err
	}
	d.Store = cmng.New(d.Session, cmng.Options{LineLimit: o.LineLimit, AllowReserved: o.AllowReserved, Journal: o.Journal})
	if err := d.Store.EnableCMEE(ctx); err != nil {
		d.Close()
		return nil, err
	}
	if d.Restored, err = d.Store.RestoreJournaled(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// prepare syncs and, where not given, detects the terminator and dialect.
func (d *Device) prepare(ctx context.Context, o Options, term *at.Terminator, dialect *at.Dialect) error {
	if o.ExpectBoot {
		if _, err := d.Session.WaitFor(ctx, 10*time.Second, at.BannerReady); err != nil {
			return fmt.Errorf("device: waiting for the board to boot: %w", err)
		}
	}
	probe := d.probe()
	if term != nil && dialect != nil {
		d.Detected = at.Detected{Dialect: *dialect, Terminator: *term}
		return d.Session.Sync(ctx, at.SyncOptions{Probe: probe})
	}
	det, err := d.Session.Detect(ctx, probe)
	if err != nil {
		return err
	}
	if term != nil {
		det.Terminator = *term
		d.Session.SetTerminator(*term)
	}
	if dialect != nil {
		det.Dialect = *dialect
		d.Session.SetDialect(*dialect)
	}
	d.Detected = det
	if err := d.Session.Sync(ctx, at.SyncOptions{NoSettle: true, Probe: probe}); err != nil {
		if errors.Is(err, at.ErrNoATHost) {
			// It answered detection a moment ago: this is a board that stopped answering.
			return fmt.Errorf("device: the board answered and then stopped answering (a stuck AT host or a hung modem): %w (%v)", at.ErrTimeout, err)
		}
		return err
	}
	return nil
}

// probe is the deadline of one detection or sync probe: its wire time and the modem's configured
// latency (--modem-latency), so that a slow modem is not taken for no AT host.
func (d *Device) probe() time.Duration {
	return d.Session.Config().Timing.Deadline(len("at AT\r\n"), len("\r\nERROR\r\n"), false)
}

// quietFor is how long a line must stay quiet before nrfprov talks: on a UART, 20 byte times
// and at least 5 ms (a talking board's bytes, even through a USB bridge's 1 ms frames, come far
// closer together); on other links the session's default, which spans two RTT polls.
func quietFor(transport string, baud int) time.Duration {
	if transport != "serial" || baud <= 0 {
		return 0
	}
	return max(5*time.Millisecond, time.Duration(20*10*int64(time.Second)/int64(baud)))
}

func parseLink(o Options) (*at.Terminator, *at.Dialect, error) {
	var term *at.Terminator
	var dialect *at.Dialect
	if o.Terminator != "" && o.Terminator != "auto" {
		t, ok := at.ParseTerminator(o.Terminator)
		if !ok {
			return nil, nil, fmt.Errorf("%w: terminator %q: want auto, cr, lf, crlf or nul", ErrOption, o.Terminator)
		}
		term = &t
	}
	if o.Dialect != "" && o.Dialect != "auto" {
		dd, ok := at.ParseDialect(o.Dialect)
		if !ok {
			return nil, nil, fmt.Errorf("%w: dialect %q: want auto, raw or shell", ErrOption, o.Dialect)
		}
		dialect = &dd
	}
	return term, dialect, nil
}

// resolveAddress turns --port / --board into the transport's address.
func resolveAddress(o Options) (string, error) {
	if o.Port != "" {
		return o.Port, nil
	}
	if o.Transport != "serial" {
		return "", fmt.Errorf("%w: transport %s needs --port <address>", ErrNoBoard, o.Transport)
	}
	ports, err := serialio.ListPorts()
	if err != nil {
		return "", fmt.Errorf("device: list serial ports: %w", err)
	}
	b, err := serialio.Pick(serialio.Boards(ports), serialio.Selector{SerialNumber: o.Board})
	if err != nil {
		if errors.Is(err, serialio.ErrNoBoard) {
			return "", fmt.Errorf("%w: %w", ErrNoBoard, err)
		}
		return "", err
	}
	return b.VCOM0(), nil
}

// Resync brings the link back after the board was reset: wait for its boot ("Ready"), sync,
// and switch error reporting back on (the modem forgets +CMEE=1 at boot).
func (d *Device) Resync(ctx context.Context, boot time.Duration) error {
	if d.Detected.Dialect == at.Raw {
		// at_client and SLM print "Ready" once the modem library is up; a shell has a prompt
		// instead, which Sync's retries wait out.
		if _, err := d.Session.WaitFor(ctx, boot, at.BannerReady); err != nil {
			return fmt.Errorf("device: waiting for the board to boot after a reset: %w", err)
		}
	}
	if err := d.Session.Sync(ctx, at.SyncOptions{Probe: d.probe()}); err != nil {
		return err
	}
	return d.Store.EnableCMEE(ctx)
}

// Reset resets the board through the transport, when it can.
func (d *Device) Reset(ctx context.Context, kind string) error {
	return plugin.Reset(ctx, d.conn, plugin.ResetRequest{Kind: kind})
}

// ResetThroughTransport resets a board that Open could not bring up (it answers nothing)
// through the transport alone: start it, open the link, reset, close. It returns an error
// matching plugin.ErrNotSupported when the transport cannot reset.
func ResetThroughTransport(ctx context.Context, h *plugin.Host, o Options) error {
	if o.Transport == "" {
		o.Transport = "serial"
	}
	addr, err := resolveAddress(o)
	if err != nil {
		return err
	}
	client, err := h.Start(ctx, o.Transport)
	if err != nil {
		return err
	}
	defer client.Kill()
	if !client.Info().Has(plugin.CapReset) {
		return &plugin.NotSupportedError{Capability: plugin.CapReset}
	}
	req, err := openRequest(client.Info(), addr, o)
	if err != nil {
		return err
	}
	conn, err := client.Open(ctx, req)
	if err != nil {
		return err
	}
	defer conn.Close()
	return plugin.Reset(ctx, conn, plugin.ResetRequest{})
}

// Close closes the link and stops the transport process.
func (d *Device) Close() error {
	err := d.conn.Close()
	d.client.Kill()
	return err
}

// Info is what a board says about itself: the link, the modem firmware, IMEI, modem UUID and
// functional mode.
type Info struct {
	Port            string `json:"port"`
	Dialect         string `json:"dialect"`
	Terminator      string `json:"terminator"`
	ModemFirmware   string `json:"modem_firmware"`
	FirmwareVersion string `json:"firmware_version"`
	RealHashes      bool   `json:"real_hashes"`
	IMEI            string `json:"imei"`
	ModemUUID       string `json:"modem_uuid"` // empty on firmware without %XMODEMUUID
	CFUN            int    `json:"cfun"`
}

// Info asks the board for its Info.
func (d *Device) Info(ctx context.Context) (Info, error) {
	fw, err := d.Store.FirmwareVersion(ctx)
	if err != nil {
		return Info{}, err
	}
	imei, err := d.Store.IMEI(ctx)
	if err != nil {
		return Info{}, err
	}
	uuid, err := d.Store.ModemUUID(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Info{}, err
		}
		uuid = "" // old firmware has no %XMODEMUUID; not a reason to fail
	}
	cfun, err := d.Store.CFUN(ctx)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Port: d.Address, Dialect: d.Detected.Dialect.String(), Terminator: d.Detected.Terminator.String(),
		ModemFirmware: fw.Raw, FirmwareVersion: fw.Semver(), RealHashes: fw.RealHashes(),
		IMEI: imei, ModemUUID: uuid, CFUN: cfun,
	}, nil
}
