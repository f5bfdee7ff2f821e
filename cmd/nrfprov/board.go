package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/journal"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// boardFlags are the global flags that say which board to talk to and how.
type boardFlags struct {
	port          string
	board         string
	boards        []string // every --board given (provision and plan take several)
	transport     string
	baud          int
	baudSet       bool // a manifest's board.baud was applied (the flag's own is flagSet)
	rtscts        bool
	term          string
	dialect       string
	json          bool
	traceWire     bool
	allowReserved bool
	keepCFUN      bool
	transportOpts map[string]string
	lineLimit     int
	latency       time.Duration
}

func (a *app) addBoardFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	f := &a.bf
	pf.StringVar(&f.port, "port", "", "the board's port (a path for serial, host:port for tcp); default: the one connected board")
	pf.Var(boardList{f}, "board", "select the board by its J-Link serial number (leading zeros optional); provision and plan take several (repeat it, or comma-separate)")
	pf.StringVar(&f.transport, "transport", "serial", "transport plugin: serial, tcp, or any nrfprov-transport-<name>")
	pf.StringToStringVar(&f.transportOpts, "transport-opt", nil, "a transport setting key=value, repeatable (rtt: backend, up, down, poll, halt, channel, addr, search, gdb, rtt_port, require_reset; see docs/transport-plugins.md)")
	pf.IntVar(&f.baud, "baud", serialio.DefaultBaud, "line speed in bit/s (8N1)")
	pf.BoolVar(&f.rtscts, "rtscts", false, "RTS/CTS hardware flow control")
	pf.StringVar(&f.term, "term", "auto", "command terminator: auto, cr, lf, crlf, nul")
	pf.StringVar(&f.dialect, "dialect", "auto", "AT dialect: auto, raw (at_client, SLM) or shell (modem_shell `at` command)")
	pf.BoolVar(&f.json, "json", false, "print results as JSON (versioned, see docs/json.md)")
	pf.BoolVar(&f.traceWire, "trace-wire", false, "log every byte on the link with timestamps (keys and PSKs as their SHA-256)")
	pf.BoolVar(&f.allowReserved, "allow-reserved", false, "allow sec_tags above 2147483647 (the modem's reserved range)")
	pf.BoolVar(&f.keepCFUN, "keep-cfun", false, "do not switch the modem to CFUN=4 around writes and deletes")
	pf.IntVar(&f.lineLimit, "line-limit", 0, "the device's AT line limit (default: 4095 raw, 3584 shell)")
	pf.DurationVar(&f.latency, "modem-latency", 2*time.Second, "how long the modem may take to answer a command, on top of the wire time")
}

// withBoard opens the board, runs fn, and closes everything, also on error.
func (a *app) withBoard(ctx context.Context, fn func(d *device.Device) error) error {
	if err := a.singleBoard(); err != nil {
		return err
	}
	host, _, err := a.host()
	if err != nil {
		return err
	}
	defer host.Close()
	d, err := device.Open(ctx, host, a.deviceOptions())
	if err != nil {
		return err
	}
	defer d.Close()
	a.log.WithFields(map[string]any{"port": d.Address, "dialect": d.Detected.Dialect, "term": d.Detected.Terminator}).Debug("board ready")
	if e := d.Restored; e != nil {
		a.log.Warnf("an earlier nrfprov run on this board (IMEI %s, since %s) did not restore the modem's functional mode: put CFUN=%d back",
			e.IMEI, e.Since.Format(time.RFC3339), e.CFUN)
	}
	return fn(d)
}

// deviceOptions says which board to open and how, from the global flags.
func (a *app) deviceOptions() device.Options {
	o := device.Options{
		Transport:        a.bf.transport,
		Port:             a.bf.port,
		Board:            a.bf.board,
		Baud:             a.bf.baud,
		BaudExplicit:     a.bf.baudSet || a.flagSet("baud"),
		RTSCTS:           a.bf.rtscts,
		TransportOptions: a.bf.transportOpts,
		Terminator:       a.bf.term,
		Dialect:          a.bf.dialect,
		Timing:           at.Timing{Baud: a.bf.baud, Latency: a.bf.latency},
		LineLimit:        a.bf.lineLimit,
		AllowReserved:    a.bf.allowReserved,
		Log:              a.log,
	}
	if dir, err := journal.DefaultDir(); err == nil {
		o.Journal = journal.Open(dir)
	} else {
		a.log.Warnf("%v: the modem's functional mode is not journaled", err)
	}
	if a.bf.traceWire {
		o.Trace = a.wireTracer()
	}
	return o
}

// flagSet reports whether a global flag was given on the command line.
func (a *app) flagSet(name string) bool {
	f := a.root.PersistentFlags().Lookup(name)
	return f != nil && f.Changed
}

// wireTracer writes each chunk on the link to stderr with its time. Commands carrying keys or
// PSKs reach it already redacted (the credential layer marks them secret).
func (a *app) wireTracer() func(time.Time, at.Direction, []byte) {
	var mu sync.Mutex
	return func(t time.Time, dir at.Direction, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(a.stderr, "wire %s %s %q\n", t.Format("15:04:05.000000"), dir, p)
	}
}

// offline runs fn with the modem in CFUN=4 unless --keep-cfun.
func (a *app) offline(ctx context.Context, d *device.Device, fn func() error) error {
	if a.bf.keepCFUN {
		return fn()
	}
	return d.Store.Offline(ctx, fn)
}

// result is what a command prints: text for people, a JSON object for programs.
type result interface {
	text(w io.Writer)
}

const jsonSchema = 1

func (a *app) print(command string, r result) error {
	if !a.bf.json {
		r.text(a.stdout)
		return nil
	}
	env := struct {
		Schema  int    `json:"schema"`
		Command string `json:"command"`
		Result  result `json:"result"`
	}{jsonSchema, command, r}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(env)
}

func parseTag(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, usageError{fmt.Errorf("sec_tag %q: want a number 0..4294967295", s)}
	}
	return uint32(v), nil
}

func parseType(s string) (cmng.Type, error) {
	t, err := cmng.ParseType(s)
	if err != nil {
		return 0, usageError{err}
	}
	return t, nil
}

// exitFor maps an error to the documented exit code (docs/exit-codes.md).
func exitFor(err error) int {
	var ue usageError
	var me *cmng.ModemError
	var bf errBoardsFailed
	switch {
	case errors.As(err, &bf):
		return bf.code
	case errors.Is(err, errLeftOnATClient), errors.Is(err, flash.ErrRunner), errors.Is(err, flash.ErrNotInstalled):
		return exitFlash
	case errors.As(err, &ue), errors.Is(err, cmng.ErrPreflight), errors.Is(err, device.ErrLineSettings),
		errors.Is(err, device.ErrOption), errors.Is(err, plugin.ErrInvalidArgument):
		return exitUsage
	case errors.Is(err, plugin.ErrChecksumMismatch), errors.Is(err, plugin.ErrNotLocked):
		return exitIntegrity
	case errors.Is(err, device.ErrNoBoard), errors.Is(err, serialio.ErrAmbiguous), errors.Is(err, serialio.ErrNoBoard),
		errors.Is(err, plugin.ErrNotFound), errors.Is(err, at.ErrNoATHost):
		return exitBoard
	case errors.Is(err, cmng.ErrTruncated):
		return exitTruncated
	case errors.Is(err, at.ErrTimeout):
		return exitTimeout
	case errors.As(err, &me), errors.Is(err, cmng.ErrNotReadable):
		return exitModem
	case errors.Is(err, cmng.ErrVerify), errors.Is(err, errVerify):
		return exitVerify
	case errors.Is(err, errUnverifiable):
		return exitUnverifiable
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, at.ErrClosed), errors.Is(err, plugin.ErrTransportExited), errors.Is(err, plugin.ErrDisconnected),
		errors.Is(err, plugin.ErrBusy), errors.Is(err, plugin.ErrPermission):
		return exitLink
	}
	return exitError
}

// boardHints are the remedies for board-level errors.
func boardHints(err error) []string {
	var hs []string
	var me *cmng.ModemError
	if errors.As(err, &me) && me.Hint != "" {
		hs = append(hs, me.Hint)
	}
	var pe *cmng.PreflightError
	if errors.As(err, &pe) && pe.Fix != "" {
		hs = append(hs, pe.Fix+" (nothing was sent to the board)")
	}
	if errors.Is(err, serialio.ErrAmbiguous) {
		hs = append(hs, "pass --board <serial number> or --port <path> to choose one")
	}
	if errors.Is(err, device.ErrNoBoard) || errors.Is(err, serialio.ErrNoBoard) {
		hs = append(hs, "is the board connected and powered? `nrfprov ports` lists what is connected; --port <path> names a port directly")
	}
	if errors.Is(err, at.ErrNoATHost) {
		hs = append(hs, resetHint,
			"otherwise the board runs no AT host: flash the at_client sample (or modem_shell for RTT), or check --port (on a DK, VCOM0 is the nRF91's UART) and --baud (the AT host's UART speed, 115200 in the samples)")
	}
	if errors.Is(err, at.ErrTimeout) && !errors.Is(err, cmng.ErrTruncated) {
		hs = append(hs, "the board stopped answering; an AT host stuck inside quotes swallows everything until it is reset: reset the board and run again")
		var te *at.TimeoutError
		if errors.As(err, &te) && strings.HasPrefix(te.Cmd, "AT%CMNG=0") {
			hs = append(hs, "if the device's AT buffer is smaller than nrfprov assumes (a custom CONFIG_AT_HOST_CMD_MAX_LEN or shell buffer), "+
				"the end of the write was dropped and the AT host waits inside the quotes: pass the buffer's size with --line-limit, and nrfprov refuses longer writes before sending")
		}
	}
	return hs
}

// resetHint: a board that answers nothing may be an AT host stuck inside an open quote (a write
// that hung), which only a reset brings back.
const resetHint = "if a write hung on this board before, its AT host is stuck inside an open quote and answers nothing until the board is reset: " +
	"press its reset button or power-cycle it, or let nrfprov reset it (`nrfprov reset --runner nrfjprog|nrfutil|jlink|openocd|gdb`; " +
	"provision resets by itself with --reset-cmd or --runner), then run again"

func joinLines(lines []string) string { return strings.Join(lines, "\n") }

// rttFirmwareHint tells RTT users which firmware answers AT over RTT: the at_client sample has
// no RTT backend, so nothing there can answer.
const rttFirmwareHint = "over RTT nrfprov talks to the Modem Shell's `at` command: the at_client sample has no RTT. " +
	"Flash modem_shell built with the RTT shell backend (CONFIG_USE_SEGGER_RTT=y, CONFIG_SHELL_BACKEND_RTT=y), " +
	"or use --transport serial on the board's UART (VCOM0 on a DK)"

// transportHints are the remedies that depend on the transport in use.
func (a *app) transportHints(err error) []string {
	if a.bf.transport == "serial" && errors.Is(err, plugin.ErrNotFound) {
		return []string{"--port must name the board's serial device (on a DK, VCOM0); `nrfprov ports` lists the boards and their ports"}
	}
	if a.bf.transport != "rtt" {
		return nil
	}
	var hs []string
	if errors.Is(err, plugin.ErrNotFound) {
		hs = append(hs, "no RTT control block was found in the target's RAM, or no debugger answered at --port: "+
			"start the debugger's server (JLinkGDBServer, OpenOCD, pyOCD) and check the firmware is built with RTT")
	}
	if errors.Is(err, plugin.ErrNotFound) || errors.Is(err, at.ErrNoATHost) || (a.bf.dialect == "raw" && errors.Is(err, at.ErrTimeout)) {
		hs = append(hs, rttFirmwareHint)
	}
	return hs
}
