package main

// The flash runner as the verbs use it: its flags, resolving it, and running its plans
// (provision.Flasher for the flash workflow).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/serialio"
)

// runnerFlags choose and configure the flash runner (docs/runners.md).
type runnerFlags struct {
	runner        string
	gdbAddress    string
	gdbHalt       string
	gdbReset      string
	openocdConfig string
	buildDir      string
	westRunner    string
	jlinkDevice   string
	resetKind     string
}

func addRunnerFlags(cmd *cobra.Command, rf *runnerFlags, kindFlag string) {
	f := cmd.Flags()
	f.StringVar(&rf.runner, "runner", "auto", "flash runner: auto, "+strings.Join(flash.Names(), ", ")+" (auto: the first installed of nrfutil, nrfjprog, JLinkExe, west, openocd)")
	f.StringVar(&rf.gdbAddress, "gdb-address", "", "the GDB server (host:port) of --runner gdb")
	f.StringVar(&rf.gdbHalt, "gdb-halt", "monitor", "how --runner gdb halts the core around its writes: monitor (monitor halt/go), interrupt (QEMU) or none (OpenOCD)")
	f.StringVar(&rf.gdbReset, "gdb-reset", flash.DefaultGDBReset, "the monitor commands of --runner gdb's reset, separated by ';' (QEMU: system_reset; OpenOCD: reset run)")
	f.StringVar(&rf.openocdConfig, "openocd-config", "", "the OpenOCD config script for -f (default: the installed OpenOCD's nRF91 board or target script)")
	f.StringVar(&rf.westRunner, "west-runner", "", "west flash --runner (default: the build's runners.yaml flash-runner)")
	f.StringVar(&rf.jlinkDevice, "jlink-device", flash.DefaultDevice, "J-Link device name (JLinkExe -device)")
	f.StringVar(&rf.resetKind, kindFlag, string(flash.ResetSystem), "reset kind: system, pin or debug (what each runner can do: docs/runners.md)")
}

// flasher is a resolved runner with its target, ready to plan and run operations.
type flasher struct {
	a       *app
	r       *flash.Runner
	t       flash.Target
	kind    flash.ResetKind
	workDir string
}

// newFlasher resolves the runner. The work directory for generated files lives until the
// command ends (cleanup). With --runner auto, a build directory whose runners.yaml names one of
// nrfprov's runners (nrfjprog, nrfutil, jlink, openocd) gets that runner, as west flash would
// use it. A dry run needs no tool installed: it shows the lines the runner would run.
func (a *app) newFlasher(rf runnerFlags, build *flash.Build, dryRun bool) (*flasher, func(), error) {
	kind, err := flash.ParseResetKind(rf.resetKind)
	if err != nil {
		return nil, nil, usageError{err}
	}
	t := flash.Target{
		Device:        rf.jlinkDevice,
		BuildDir:      rf.buildDir,
		WestRunner:    rf.westRunner,
		GDBAddress:    rf.gdbAddress,
		GDBHalt:       rf.gdbHalt,
		GDBReset:      rf.gdbReset,
		OpenOCDConfig: rf.openocdConfig,
	}
	if build != nil && t.WestRunner == "" {
		t.WestRunner = build.FlashRunner
	}
	name := rf.runner
	if (name == "auto" || name == "") && build != nil && slices.Contains([]string{"nrfjprog", "nrfutil", "jlink", "openocd"}, build.FlashRunner) {
		name = build.FlashRunner
		a.log.WithField("runner", name).Debug("the build's runners.yaml flash-runner")
	}
	if _, err := flash.ParseGDBHalt(rf.gdbHalt); err != nil {
		return nil, nil, usageError{err}
	}
	if name != "auto" && name != "" {
		// What the named runner cannot do is a usage error, whether it is installed or not.
		r, err := flash.Lookup(name)
		if err != nil {
			return nil, nil, usageError{err}
		}
		if err := r.Supports(kind); err != nil {
			return nil, nil, usageError{err}
		}
	}
	r, err := flash.Resolve(name, t, nil)
	if dryRun && errors.Is(err, flash.ErrNotInstalled) {
		// A dry run shows the command lines even where the tool is not installed: the named
		// runner's (or the build's), else the first that auto would try.
		a.notef("nrfprov: note: %v", err)
		if name == "auto" || name == "" {
			name = flash.Names()[0]
			a.notef("nrfprov: note: showing what %s would run", name)
		}
		r, err = flash.Lookup(name)
	}
	if err != nil {
		if !errors.Is(err, flash.ErrNotInstalled) {
			return nil, nil, usageError{err}
		}
		return nil, nil, err
	}
	if r.Name == "openocd" {
		// Which nRF91 scripts this OpenOCD has (Debian's 0.12.0 has none). A dry run without
		// OpenOCD shows the lines for upstream's scripts.
		if err := flash.CheckOpenOCD(context.Background(), &t, nil); dryRun && errors.Is(err, flash.ErrNotInstalled) {
			a.notef("nrfprov: note: %v\nnrfprov: note: showing what an OpenOCD with upstream's nRF91 scripts would run", err)
			t.OpenOCDRecover = t.OpenOCDConfig == ""
		} else if err != nil {
			return nil, nil, err
		}
	}
	if t.Serial, err = a.runnerSerial(r); err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nrfprov-flash-")
	if err != nil {
		return nil, nil, err
	}
	return &flasher{a: a, r: r, t: t, kind: kind, workDir: dir}, func() { os.RemoveAll(dir) }, nil
}

// seggerVID is SEGGER's USB vendor ID: J-Link probes, on-board (the DKs' J-Link OB) or not.
const seggerVID = "1366"

// runnerSerial is the J-Link serial number the runner is given: --board, else the USB serial
// number of the device that --port belongs to when that device is a J-Link (SEGGER's VID
// 0x1366), else none (the tool takes the one probe). A port on another USB device (an FTDI or
// CP210x cable, a Thingy:91's bridge) says nothing about the probe: nrfprov asks for --board
// rather than guess. The gdb runner needs no serial number.
func (a *app) runnerSerial(r *flash.Runner) (string, error) {
	if a.bf.board != "" || a.bf.port == "" || a.bf.transport != "serial" || r.Name == "gdb" {
		return a.bf.board, nil
	}
	want, err := filepath.EvalSymlinks(a.bf.port)
	if err != nil {
		return "", nil
	}
	ports, err := serialio.ListPorts()
	if err != nil {
		return "", nil
	}
	for _, p := range ports {
		got, err := filepath.EvalSymlinks(p.Path)
		if err != nil || got != want || p.SerialNumber == "" {
			continue
		}
		if !strings.EqualFold(p.VID, seggerVID) {
			return "", usageError{fmt.Errorf("--port %s is on USB device %s:%s, not a SEGGER J-Link: its serial number %q is not the probe's; give the probe's serial number with --board (`nrfjprog --ids` or `nrfutil device list` lists them)",
				a.bf.port, p.VID, p.PID, p.SerialNumber)}
		}
		a.log.WithFields(map[string]any{"port": a.bf.port, "serial_number": p.SerialNumber}).Debug("probe of the port")
		return p.SerialNumber, nil
	}
	return "", nil
}

func (f *flasher) planProgram(img *flash.Image) ([]flash.Command, error) {
	cmds, err := f.r.PlanProgram(f.t, img, f.kind, f.workDir)
	if err != nil {
		return nil, usageError{err}
	}
	return cmds, nil
}

func (f *flasher) planReset() ([]flash.Command, error) {
	cmds, err := f.r.PlanReset(f.t, f.kind, f.workDir)
	if err != nil {
		return nil, usageError{err}
	}
	return cmds, nil
}

func (f *flasher) exec(ctx context.Context, what string, cmds []flash.Command) error {
	f.a.notef("flash: %s with %s", what, f.r.Name)
	return flash.Exec(ctx, f.r, cmds, flash.ExecOptions{Log: f.a.log, Progress: f.a.progress.flash()})
}

// Program puts img on the board (provision.Flasher).
func (f *flasher) Program(ctx context.Context, what string, img *flash.Image) error {
	cmds, err := f.planProgram(img)
	if err != nil {
		return err
	}
	return f.exec(ctx, "programming "+what+" "+img.Describe(), cmds)
}

// Reset is the runner's reset, provision's recovery hook (provision.Flasher).
func (f *flasher) Reset(ctx context.Context) error {
	cmds, err := f.planReset()
	if err != nil {
		return err
	}
	return f.exec(ctx, string(f.kind)+" reset", cmds)
}
