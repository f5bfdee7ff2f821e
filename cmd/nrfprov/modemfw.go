package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// modemFirmwareTimeout bounds one modem firmware update: the tools take minutes for a full
// package.
const modemFirmwareTimeout = 20 * time.Minute

type modemFirmwareResult struct {
	Runner   string   `json:"runner"`
	Package  string   `json:"package"`
	Version  string   `json:"version"`  // the package's, e.g. mfw_nrf9160_1.3.6
	SHA256   string   `json:"sha256"`   // of the package file
	Commands []string `json:"commands"` // exactly what runs
	DryRun   bool     `json:"dry_run,omitempty"`
	// ModemFirmware is what AT+CGMR answers afterwards; "" when the board could not be asked.
	ModemFirmware string `json:"modem_firmware,omitempty"`
	Confirmed     bool   `json:"confirmed"`
	Note          string `json:"note,omitempty"`

	plan []flash.Command // what a dry run shows, generated files included
}

func (r modemFirmwareResult) text(w io.Writer) {
	if r.DryRun {
		printPlan(w, r.plan)
		return
	}
	fmt.Fprintf(w, "programmed %s (sha256 %s) with %s\n", filepath.Base(r.Package), r.SHA256, r.Runner)
	switch {
	case r.Confirmed:
		fmt.Fprintf(w, "the modem now runs %s (AT+CGMR)\n", r.ModemFirmware)
	case r.Note != "":
		fmt.Fprintln(w, r.Note)
	}
}

func (a *app) newModemFirmwareCmd() *cobra.Command {
	var rf runnerFlags
	var dryRun bool
	cmd := opensBoard(&cobra.Command{
		Use:   "modem-firmware ZIP",
		Short: "Program a modem firmware package (mfw_nrf9160_*.zip, mfw_nrf91x1_*.zip) through nrfutil or nrfjprog",
		Long: `Program a modem firmware package as Nordic ships it (mfw_nrf9160_<version>.zip or
mfw_nrf91x1_<version>.zip, not unpacked) through the debug probe: nrfutil device program
--firmware ZIP --serial-number SN, or nrfjprog --program ZIP -s SN --verify (Command Line Tools
10.13 and later). The other runners cannot. The version is read from the package, and afterwards
the board is asked (AT+CGMR) whether its modem runs it.

This is also the last step of recovery: when even a tiny credential write hangs after a reset,
the modem's credential storage is broken and programming the modem firmware again is what
helps (provision says so, with the command). --dry-run prints the exact command lines.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Only nrfutil and nrfjprog program modem firmware: the other runners' settings
			// would be taken and silently do nothing.
			for _, name := range []string{"gdb-address", "gdb-halt", "gdb-reset", "openocd-config", "west-runner", "jlink-device"} {
				if cmd.Flags().Changed(name) {
					return usagef("modem-firmware: --%s means nothing here: only nrfutil and nrfjprog program a modem firmware package", name)
				}
			}
			path := args[0]
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			pkg, err := flash.ReadModemPackage(path)
			if err != nil {
				return usageError{fmt.Errorf("modem-firmware: %w", err)}
			}
			if rf.runner == "" || rf.runner == "auto" {
				rf.runner = modemRunner(exec.LookPath)
			}
			r, err := flash.Lookup(rf.runner)
			if err != nil {
				return usageError{err}
			}
			if !r.CanProgramModem() {
				_, err := r.PlanModemFirmware(flash.Target{}, pkg)
				return usageError{err}
			}
			f, cleanup, err := a.newFlasher(rf, nil, dryRun)
			if err != nil {
				return err
			}
			defer cleanup()
			cmds, err := f.r.PlanModemFirmware(f.t, pkg)
			if err != nil {
				return usageError{err}
			}
			res := modemFirmwareResult{Runner: f.r.Name, Package: pkg.Path, Version: pkg.Revision(), SHA256: pkg.SHA256,
				Commands: commandLines(cmds), DryRun: dryRun, plan: cmds}
			if dryRun {
				return a.print("modem-firmware", res)
			}
			if err := a.execModemFirmware(cmd.Context(), f, pkg, cmds); err != nil {
				return err
			}
			cerr := a.confirmModemFirmware(cmd.Context(), &res)
			if err := a.print("modem-firmware", res); err != nil {
				return err
			}
			return cerr
		},
	})
	addRunnerFlags(cmd, &rf, "reset-kind")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact command lines, run nothing")
	return cmd
}

// modemRunner is --runner auto for modem firmware: the first installed of nrfutil and nrfjprog
// (nrfutil when neither is, so that the error names what to install).
func modemRunner(look flash.LookPath) string {
	for _, n := range flash.Names() {
		r, err := flash.Lookup(n)
		if err != nil || !r.CanProgramModem() {
			continue
		}
		if _, err := look(r.Exe); err == nil {
			return n
		}
	}
	return "nrfutil"
}

func (a *app) execModemFirmware(ctx context.Context, f *flasher, pkg *flash.ModemPackage, cmds []flash.Command) error {
	a.notef("flash: programming %s with %s (this takes minutes on a real board; do not unplug it)", pkg.Describe(), f.r.Name)
	return flash.Exec(ctx, f.r, cmds, flash.ExecOptions{Log: a.log, Timeout: modemFirmwareTimeout, Progress: a.progress.flash()})
}

// confirmModemFirmware asks the board which modem firmware it runs now. A board that cannot be
// asked (no port given, the application runs no AT host) is not a failure of the update: the
// result says how to check. A modem that reports another version is (errVerify).
func (a *app) confirmModemFirmware(ctx context.Context, res *modemFirmwareResult) error {
	if a.bf.port == "" && a.bf.board == "" {
		res.Note = "check the version with `nrfprov info` (give --port or --board to have it checked here)"
		return nil
	}
	fw, err := a.askModemFirmware(ctx)
	res.ModemFirmware = fw
	switch {
	case err != nil:
		res.Note = fmt.Sprintf("programmed, but the board could not be asked for its modem firmware (%v): check with `nrfprov info` once it runs an AT host", err)
	case strings.EqualFold(res.ModemFirmware, res.Version):
		res.Confirmed = true
	default:
		res.Note = fmt.Sprintf("the modem reports %s, not %s", res.ModemFirmware, res.Version)
		return fmt.Errorf("modem-firmware: the modem reports %s after programming %s: the update did not take; run the command again: %w",
			res.ModemFirmware, res.Version, errVerify)
	}
	return nil
}

// storageBrokenError is provision's broken-storage error with the exact command lines that
// program the modem firmware again, for this board's probe.
type storageBrokenError struct {
	err   *provision.StorageBrokenError
	lines []string
}

func (e storageBrokenError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Error())
	b.WriteString("; download that package from Nordic (do not unzip it) and program it with one of:")
	for _, l := range e.lines {
		b.WriteString("\n    " + l)
	}
	b.WriteString("\n  then run provision again")
	return b.String()
}

func (e storageBrokenError) Unwrap() error { return e.err }

// withReprogram adds the reprogramming commands to a broken-storage error.
func (a *app) withReprogram(err error) error {
	var sb *provision.StorageBrokenError
	if !errors.As(err, &sb) {
		return err
	}
	r, _ := flash.Lookup("nrfutil")
	sn, serr := a.runnerSerial(r)
	if serr != nil {
		sn = "" // a port on a non-J-Link device names no probe: the lines go without a serial number
	}
	return storageBrokenError{err: sb, lines: reprogramCommands(sb.ModemFirmware, sn)}
}

// askModemFirmware opens the board of the link flags and asks AT+CGMR.
func (a *app) askModemFirmware(ctx context.Context) (string, error) {
	if err := a.singleBoard(); err != nil {
		return "", err
	}
	host, _, err := a.host()
	if err != nil {
		return "", err
	}
	defer host.Close()
	d, err := device.Open(ctx, host, a.deviceOptions())
	if err != nil {
		return "", err
	}
	defer d.Close()
	fw, err := d.Store.FirmwareVersion(ctx)
	return fw.Raw, err
}

// reprogramCommands are the exact command lines that program the modem firmware package of
// revision rev into the board with probe serial number sn: nrfprov's own verb, then nrfutil's and
// nrfjprog's (from the runners' templates). Without a serial number the tools pick the one
// connected probe.
func reprogramCommands(rev, sn string) []string {
	pkg := &flash.ModemPackage{Path: rev + ".zip"}
	self := "nrfprov modem-firmware " + pkg.Path
	if sn != "" {
		self += " --board " + sn
	}
	lines := []string{self}
	for _, name := range flash.Names() {
		r, err := flash.Lookup(name)
		if err != nil || !r.CanProgramModem() {
			continue
		}
		cmds, err := r.PlanModemFirmware(flash.Target{Serial: sn}, pkg)
		if err == nil && len(cmds) == 1 {
			lines = append(lines, cmds[0].String())
		}
	}
	return lines
}
