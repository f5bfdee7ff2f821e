// Command nrfsim runs virtual nRF91 boards: each board's VCOM0 is a real pseudo-terminal with a
// modem and AT host firmware behind it, and a control socket for resets, flashing and faults.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/sim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// boardLine is what nrfsim prints on stdout for each board once it runs.
type boardLine struct {
	SerialNumber string `json:"serial_number"`
	VCOM0        string `json:"vcom0,omitempty"`
	PTY          string `json:"pty,omitempty"`
	Socket       string `json:"serial_socket,omitempty"`
	Control      string `json:"control"`
	Profile      string `json:"profile"`
	Personality  string `json:"personality"`
	Baud         int    `json:"baud"`
	State        string `json:"state,omitempty"`
	GDB          string `json:"gdb,omitempty"`
	RTTTelnet    string `json:"rtt_telnet,omitempty"`
	OpenOCDTcl   string `json:"openocd_tcl,omitempty"`
}

type options struct {
	boards            int
	serialBase        string
	profile           string
	personality       string
	baud              int
	flowControl       bool
	stateDir          string
	runDir            string
	termination       string
	lineLimit         int
	responseLimit     int
	busyFIFO          int
	readyDelay        time.Duration
	firstCommandError bool
	commandLatency    time.Duration
	writeLatency      time.Duration
	rtt               bool
	rttPoll           time.Duration
	rttDownSize       int
	memoryNeedsHalt   bool
	rttTelnet         bool
	telnetGUIServer   bool
	openocd           bool
	listen            string
	logLevel          string
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCmd(stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "nrfsim:", err)
		return 1
	}
	return 0
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "nrfsim",
		Short: "Run virtual nRF91 boards on pseudo-terminals",
		Long: `nrfsim runs one or more virtual nRF91 boards (an nRF9160 DK running the at_client sample by
default). Each board's VCOM0 is a real pseudo-terminal, paced at the configured baud rate, with a
faithful model of the modem's %CMNG credential store and of the device-side AT host behind it.

When the boards run, nrfsim prints one JSON line per board on stdout:

  {"serial_number":"000960000001","vcom0":"<run-dir>/000960000001-vcom0","pty":"/dev/pts/N",
   "control":"<run-dir>/000960000001.sock","profile":"...","personality":"at_client","baud":115200}

vcom0 is a stable path (a symlink to the current pseudo-terminal, like /dev/serial/by-id/...);
open it with any terminal program, e.g.  picocom -b 115200 <vcom0>  (Enter sends CR, which ends a
command in at_client), then type AT and AT%CMNG=1.

The control socket takes one JSON request per line and answers one JSON line:
  {"op":"reset"}                               system reset (credentials persist)
  {"op":"flash","personality":"application"}   program another firmware and reset
  {"op":"flash","hex":"/path/to/image.hex"}    program a hex file; its strings decide the personality
  {"op":"fault","fault":{"kind":"hang"}}       inject a fault: drop, corrupt, urc, hang, slow,
                                               truncate, power_off_warning, store_capacity, echo, noise,
                                               line_speed, broken_storage (only modem_firmware heals
                                               it); the switches power_off_warning, echo and
                                               line_speed need "enabled":true (false turns them off)
  {"op":"modem_firmware","package":"/p/mfw_nrf9160_1.3.6.zip"}  program a modem firmware package, reset
  {"op":"clear_faults"}
  {"op":"unplug"} / {"op":"replug"}            USB cable out / in
  {"op":"state"}                               hashes and metadata, never credential contents
for example:  nrfsim ctl <control> state    (or: echo '{"op":"state"}' | socat - UNIX-CONNECT:<control>)

Profiles: ` + strings.Join(sim.ProfileNames(), ", ") + `
Personalities: at_client, modem_shell, serial_lte_modem, application

nrfsim runs until SIGINT or SIGTERM, then removes its ports, sockets and the sys/ and dev/ trees
it published in the run directory (a relative --run-dir is fine: the links are relative to where
they live). With --state the modem's
non-volatile memory (credentials, identity key, flashed firmware) survives restarts.

With --rtt each board also has simulated RAM (0x20000000, 256 KiB) and a GDB remote-protocol server
on 127.0.0.1 (its line gains "gdb":"127.0.0.1:<port>"; m/M/X memory access, monitor reset/halt/go).
A board running modem_shell then keeps a SEGGER RTT control block in RAM (at an address that changes
with every flash) and its shell talks over RTT channel 0 instead of the UART. --rtt-telnet adds a
J-Link RTT telnet endpoint ("rtt_telnet", raw TCP: banner, optional config string in the first
100 ms, then channel bytes); --openocd an OpenOCD stand-in's Tcl port ("openocd_tcl": rtt setup,
start, stop, channels, polling_interval, server start/stop; reset run|halt).

With --listen tcp:HOST:PORT (or unix:PATH) a board's UART is a listening socket instead of a
pseudo-terminal: its line has "serial_socket":"tcp:127.0.0.1:<port>" and no vcom0 or pty. One peer at
a time; for example QEMU bridging an emulated MCU's UART to the modem:
  nrfsim --personality modem_shell --listen tcp:127.0.0.1:0
  qemu-system-arm -M mps2-an385 ... -serial tcp:127.0.0.1:<port>`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, o, stdout, stderr)
		},
	}
	cmd.AddCommand(newCtlCmd(stdout))
	f := cmd.Flags()
	f.IntVar(&o.boards, "boards", 1, "number of boards")
	f.StringVar(&o.serialBase, "serial", "000960000001", "J-Link serial number of the first board (the next ones count up)")
	f.StringVar(&o.profile, "profile", sim.DefaultProfile, "modem firmware profile: "+strings.Join(sim.ProfileNames(), ", "))
	f.StringVar(&o.personality, "personality", string(sim.ATClient), "application firmware: at_client, modem_shell, serial_lte_modem, application")
	f.IntVar(&o.baud, "baud", 115200, "UART baud rate (8N1); input and output are paced at it")
	f.BoolVar(&o.flowControl, "flow-control", false, "model RTS/CTS: bytes sent while the AT host is busy are held instead of lost")
	f.StringVar(&o.stateDir, "state", "", "directory for the boards' non-volatile memory (default: memory only)")
	f.StringVar(&o.runDir, "run-dir", "", "directory for the VCOM0 links and control sockets (default: a new temporary directory)")
	f.StringVar(&o.termination, "termination", "", "AT host line terminator: cr, lf, crlf or nul (default: the firmware's own, cr for at_client)")
	f.IntVar(&o.lineLimit, "line-limit", 0, "characters the AT host line buffer holds (default: 4095 at_client, 3584 modem_shell, 4096 SLM)")
	f.IntVar(&o.responseLimit, "response-limit", 0, "AT host response buffer; longer responses are cut (default: the profile's, else the line buffer)")
	f.IntVar(&o.busyFIFO, "busy-fifo", 5, "bytes kept in the UART FIFO while a command executes (the rest are lost without flow control)")
	f.DurationVar(&o.readyDelay, "ready-delay", 200*time.Millisecond, "time from the boot banner to \"Ready\"")
	f.BoolVar(&o.firstCommandError, "first-command-error", false, "power-on leaves junk in the AT buffer, so the first command answers ERROR")
	f.DurationVar(&o.commandLatency, "command-latency", 2*time.Millisecond, "modem time to answer a command")
	f.DurationVar(&o.writeLatency, "write-latency", 50*time.Millisecond, "extra modem time per credential write or delete")
	f.BoolVar(&o.rtt, "rtt", false, "simulate target RAM and a GDB server per board (its line gains \"gdb\"); modem_shell then talks SEGGER RTT instead of the UART")
	f.IntVar(&o.rttDownSize, "rtt-down-size", 32, "with --rtt: the RTT down buffer's size (CONFIG_SEGGER_RTT_BUFFER_SIZE_DOWN; 32 with the shell's RTT backend, 16 without)")
	f.DurationVar(&o.rttPoll, "rtt-poll", 10*time.Millisecond, "with --rtt: how often the shell polls the RTT down buffer (CONFIG_SHELL_RTT_RX_POLL_PERIOD)")
	f.BoolVar(&o.memoryNeedsHalt, "gdb-needs-halt", false, "with --rtt: the GDB server refuses memory access unless the core is halted (like QEMU)")
	f.BoolVar(&o.rttTelnet, "rtt-telnet", false, "with --rtt: serve a J-Link RTT telnet endpoint per board (its line gains \"rtt_telnet\")")
	f.BoolVar(&o.telnetGUIServer, "rtt-telnet-gui-server", false, "with --rtt-telnet: the endpoint acts as a stale JLinkGUIServer holding the port (answers \"J-Link GUI server; V6.80d;\", no RTT)")
	f.BoolVar(&o.openocd, "openocd", false, "with --rtt: serve an OpenOCD stand-in's Tcl port per board, with its rtt commands (its line gains \"openocd_tcl\")")
	f.StringVar(&o.listen, "listen", "", "make each board's UART a listening socket instead of a PTY: tcp:HOST:PORT (port 0: a free one per board) or unix:PATH (one board)")
	f.StringVar(&o.logLevel, "log-level", "warning", "log level on stderr: debug, info, warning, error")
	addCompletions(cmd)
	return cmd
}

func (o options) boardConfigs(runDir string, log *logrus.Entry) ([]sim.BoardConfig, error) {
	if o.boards < 1 || o.boards > 256 {
		return nil, fmt.Errorf("--boards %d: want 1..256", o.boards)
	}
	base, err := strconv.ParseUint(o.serialBase, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("--serial %q: want digits, e.g. 000960000001", o.serialBase)
	}
	pers, err := sim.ParsePersonality(o.personality)
	if err != nil {
		return nil, err
	}
	if _, err := sim.LookupProfile(o.profile); err != nil {
		return nil, err
	}
	var term sim.Termination
	if o.termination != "" {
		if term, err = sim.ParseTermination(o.termination); err != nil {
			return nil, err
		}
	}
	if o.rttPoll <= 0 {
		return nil, fmt.Errorf("--rtt-poll %v: must be positive", o.rttPoll)
	}
	if (o.rttTelnet || o.openocd) && !o.rtt {
		return nil, errors.New("--rtt-telnet and --openocd need --rtt (the endpoints reach the board's RAM)")
	}
	if o.telnetGUIServer && !o.rttTelnet {
		return nil, errors.New("--rtt-telnet-gui-server needs --rtt-telnet")
	}
	if o.busyFIFO < 0 {
		return nil, fmt.Errorf("--busy-fifo %d: must not be negative", o.busyFIFO)
	}
	if o.listen != "" {
		network, addr, err := sim.ParseListen(o.listen)
		if err != nil {
			return nil, fmt.Errorf("--listen: %w", err)
		}
		if _, port, _ := net.SplitHostPort(addr); o.boards > 1 && (network == "unix" || port != "0") {
			return nil, fmt.Errorf("--listen %s with %d boards: each board needs its own socket (use tcp:HOST:0)", o.listen, o.boards)
		}
	}
	var cfgs []sim.BoardConfig
	for i := 0; i < o.boards; i++ {
		cfgs = append(cfgs, sim.BoardConfig{
			SerialNumber:      fmt.Sprintf("%0*d", len(o.serialBase), base+uint64(i)),
			Profile:           o.profile,
			Personality:       pers,
			Baud:              o.baud,
			FlowControl:       o.flowControl,
			StateDir:          o.stateDir,
			RunDir:            runDir,
			Termination:       term,
			TermSet:           o.termination != "",
			LineLimit:         o.lineLimit,
			ResponseLimit:     o.responseLimit,
			BusyFIFO:          o.busyFIFO,
			NoBusyFIFO:        o.busyFIFO == 0,
			ReadyDelay:        o.readyDelay,
			FirstCommandError: o.firstCommandError,
			CommandLatency:    o.commandLatency,
			WriteLatency:      o.writeLatency,
			RTT:               o.rtt,
			RTTPoll:           o.rttPoll,
			RTTDownSize:       o.rttDownSize,
			MemoryNeedsHalt:   o.memoryNeedsHalt,
			Listen:            o.listen,
			Log:               log,
		})
	}
	return cfgs, nil
}

func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	level, err := logrus.ParseLevel(o.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := logrus.New()
	logger.SetOutput(stderr)
	logger.SetLevel(level)
	log := logrus.NewEntry(logger).WithField("component", "nrfsim")

	runDir := o.runDir
	if runDir == "" {
		if runDir, err = os.MkdirTemp("", "nrfsim-"); err != nil {
			return err
		}
		defer os.RemoveAll(runDir)
	}
	cfgs, err := o.boardConfigs(runDir, log)
	if err != nil {
		return err
	}
	type running struct {
		b   *sim.Board
		ctl *sim.ControlServer
	}
	var boards []running
	defer func() {
		for _, r := range boards {
			r.ctl.Close()
			r.b.Close()
		}
		// The boards took their ports, sockets and USB entries with them; the trees they
		// published into go too, so the next start on this directory finds no stale board.
		if err := sim.RemoveUSBTrees(runDir); err != nil {
			log.WithError(err).Warn("run directory not cleaned")
		}
	}()
	enc := json.NewEncoder(stdout)
	for _, cfg := range cfgs {
		b, err := sim.StartBoard(ctx, cfg)
		if err != nil {
			return err
		}
		ctl, err := sim.ServeControl(b)
		if err != nil {
			b.Close()
			return err
		}
		boards = append(boards, running{b, ctl})
		var gdbAddr string
		if cfg.RTT {
			gdb, err := sim.ServeGDB(b)
			if err != nil {
				return err
			}
			defer gdb.Close()
			gdbAddr = gdb.Addr()
		}
		var telnetAddr, tclAddr string
		if o.rttTelnet {
			tn, err := sim.ServeRTTTelnet(b, sim.TelnetOptions{GUIServer: o.telnetGUIServer})
			if err != nil {
				return err
			}
			defer tn.Close()
			telnetAddr = tn.Addr()
		}
		if o.openocd {
			oc, err := sim.ServeOpenOCD(b)
			if err != nil {
				return err
			}
			defer oc.Close()
			tclAddr = oc.Addr()
		}
		st, err := b.State(ctx)
		if err != nil {
			return err
		}
		line := boardLine{
			SerialNumber: st.SerialNumber,
			VCOM0:        st.VCOM0,
			PTY:          st.PTY,
			Control:      ctl.Path(),
			Profile:      st.Profile,
			Personality:  string(st.Firmware.Personality),
			Baud:         b.Config().Baud,
			GDB:          gdbAddr,
			RTTTelnet:    telnetAddr,
			OpenOCDTcl:   tclAddr,
			Socket:       st.Socket,
		}
		if cfg.StateDir != "" {
			line.State = cfg.StateDir
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	<-ctx.Done()
	if errors.Is(context.Cause(ctx), context.Canceled) {
		log.Info("stopping")
	}
	return nil
}

// newCtlCmd is a client for a board's control socket: what a person types instead of socat, and
// the stand-in "debugger" a host tool can run to reset a virtual board.
func newCtlCmd(stdout io.Writer) *cobra.Command {
	var personality, hex, fault, pkg string
	cmd := &cobra.Command{
		Use:   "ctl SOCKET OP",
		Short: "Send one request to a board's control socket (reset, flash, modem_firmware, fault, clear_faults, unplug, replug, state)",
		Example: `  nrfsim ctl /tmp/nrfsim/000960000001.sock reset
  nrfsim ctl /tmp/nrfsim/000960000001.sock fault --fault '{"kind":"hang"}'
  nrfsim ctl /tmp/nrfsim/000960000001.sock fault --fault '{"kind":"power_off_warning","enabled":true}'
  nrfsim ctl /tmp/nrfsim/000960000001.sock flash --personality application
  nrfsim ctl /tmp/nrfsim/000960000001.sock state`,
		Args:          cobra.ExactArgs(2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := sim.ControlRequest{Op: args[1], Personality: personality, Hex: hex, Package: pkg}
			if fault != "" {
				req.Fault = &sim.Fault{}
				if err := json.Unmarshal([]byte(fault), req.Fault); err != nil {
					return fmt.Errorf("--fault: %w", err)
				}
			}
			st, err := sim.ControlClient{Path: args[0]}.Do(cmd.Context(), req)
			if err != nil {
				return err
			}
			if st != nil {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&personality, "personality", "", "flash: the firmware to switch to")
	cmd.Flags().StringVar(&hex, "hex", "", "flash: an Intel HEX file to program")
	cmd.Flags().StringVar(&fault, "fault", "", `fault: the fault as JSON, e.g. {"kind":"hang"} or {"kind":"power_off_warning","enabled":true}`)
	cmd.Flags().StringVar(&pkg, "package", "", "modem_firmware: the modem firmware package (mfw_nrf9160_<version>.zip)")
	return cmd
}
