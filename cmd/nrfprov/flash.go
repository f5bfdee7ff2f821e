package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/serialio"
)

// runnerFlags choose and configure the flash runner (docs/runners.md).
type runnerFlags struct {
	runner      string
	gdbAddress  string
	buildDir    string
	westRunner  string
	jlinkDevice string
	resetKind   string
}

func addRunnerFlags(cmd *cobra.Command, rf *runnerFlags, kindFlag string) {
	f := cmd.Flags()
	f.StringVar(&rf.runner, "runner", "auto", "flash runner: auto, "+strings.Join(flash.Names(), ", ")+" (auto: the first installed of nrfutil, nrfjprog, JLinkExe, west, openocd)")
	f.StringVar(&rf.gdbAddress, "gdb-address", "", "the GDB server (host:port) of --runner gdb")
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
// command ends (cleanup).
func (a *app) newFlasher(rf runnerFlags, build *flash.Build, dryRun bool) (*flasher, func(), error) {
	kind, err := flash.ParseResetKind(rf.resetKind)
	if err != nil {
		return nil, nil, usageError{err}
	}
	t := flash.Target{
		Serial:     a.runnerSerial(),
		Device:     rf.jlinkDevice,
		BuildDir:   rf.buildDir,
		WestRunner: rf.westRunner,
		GDBAddress: rf.gdbAddress,
	}
	if build != nil && t.WestRunner == "" {
		t.WestRunner = build.FlashRunner
	}
	if rf.runner != "auto" && rf.runner != "" {
		// What the named runner cannot do is a usage error, whether it is installed or not.
		r, err := flash.Lookup(rf.runner)
		if err != nil {
			return nil, nil, usageError{err}
		}
		if err := r.Supports(kind); err != nil {
			return nil, nil, usageError{err}
		}
	}
	r, err := flash.Resolve(rf.runner, t, nil)
	if dryRun && errors.Is(err, flash.ErrNotInstalled) && rf.runner != "auto" && rf.runner != "" {
		// A dry run of a named runner shows its command lines even where it is not installed.
		a.notef("nrfprov: note: %v", err)
		r, err = flash.Lookup(rf.runner)
	}
	if err != nil {
		if !errors.Is(err, flash.ErrNotInstalled) {
			return nil, nil, usageError{err}
		}
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "nrfprov-flash-")
	if err != nil {
		return nil, nil, err
	}
	return &flasher{a: a, r: r, t: t, kind: kind, workDir: dir}, func() { os.RemoveAll(dir) }, nil
}

// runnerSerial is the J-Link serial number the runner is given: --board, else the USB serial
// number of the device that --port belongs to, else none (the tool takes the one probe).
func (a *app) runnerSerial() string {
	if a.bf.board != "" || a.bf.port == "" || a.bf.transport != "serial" {
		return a.bf.board
	}
	want, err := filepath.EvalSymlinks(a.bf.port)
	if err != nil {
		return ""
	}
	ports, err := serialio.ListPorts()
	if err != nil {
		return ""
	}
	for _, p := range ports {
		if got, err := filepath.EvalSymlinks(p.Path); err == nil && got == want && p.SerialNumber != "" {
			a.log.WithFields(map[string]any{"port": a.bf.port, "serial_number": p.SerialNumber}).Debug("probe of the port")
			return p.SerialNumber
		}
	}
	return ""
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

// loadImage reads a firmware image for a flag; a bad one is a usage error (nothing was run).
func loadImage(flag, path string) (*flash.Image, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // the runners may run elsewhere (a command file, west's own working directory)
	}
	img, err := flash.LoadImage(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", flag, err)}
	}
	return img, nil
}

// appImage is the image of --restore-app, else of the build directory.
func appImage(flag, hex, buildDir string) (*flash.Image, *flash.Build, error) {
	if hex != "" {
		img, err := loadImage(flag, hex)
		var build *flash.Build
		if buildDir != "" {
			// The image is given; the build directory still says which runner west uses.
			if b, _ := flash.DiscoverHex(buildDir); b.FlashRunner != "" {
				build = &b
			}
		}
		return img, build, err
	}
	b, err := flash.DiscoverHex(buildDir)
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("--build-dir: %w", err)}
	}
	img, err := loadImage("--build-dir", b.Hex)
	return img, &b, err
}

func (a *app) newFlashCmd() *cobra.Command {
	var rf runnerFlags
	var dryRun, recover bool
	cmd := usesProbe(&cobra.Command{
		Use:   "flash [HEX|ELF] [--build-dir DIR]",
		Short: "Program firmware through a flash runner (nrfutil, nrfjprog, JLinkExe, west, openocd, gdb) and reset",
		Long: `Program an image (Intel HEX or ELF) and reset the board, through nrfutil, nrfjprog, SEGGER
J-Link Commander, west, OpenOCD or a GDB server. Without an image, the build directory's is used:
zephyr/runners.yaml's hex_file, else merged.hex, zephyr/merged.hex, zephyr/zephyr.hex. --board
selects the probe by serial number. --dry-run prints the exact command lines and runs nothing.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var img *flash.Image
			var build *flash.Build
			var err error
			switch {
			case len(args) == 1:
				img, build, err = appImage("image", args[0], rf.buildDir)
			case rf.buildDir != "":
				img, build, err = appImage("--build-dir", "", rf.buildDir)
			default:
				err = usageError{errors.New("flash: give an image (HEX or ELF) or --build-dir DIR")}
			}
			if err != nil {
				return err
			}
			f, cleanup, err := a.newFlasher(rf, build, dryRun)
			if err != nil {
				return err
			}
			defer cleanup()
			cmds, err := f.planProgram(img)
			if err != nil {
				return err
			}
			if recover {
				rcmds, err := f.r.PlanRecover(f.t, f.workDir)
				if err != nil {
					return usageError{err}
				}
				cmds = append(rcmds, cmds...)
			}
			if !dryRun {
				if err := f.exec(cmd.Context(), "programming "+img.Describe(), cmds); err != nil {
					return err
				}
			}
			return a.print("flash", newFlashResult(f.r, f.kind, img, cmds, dryRun))
		},
	})
	addRunnerFlags(cmd, &rf, "reset-kind")
	cmd.Flags().StringVar(&rf.buildDir, "build-dir", "", "a Zephyr/NCS build directory: its image, and west's --build-dir")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact command lines, run nothing")
	cmd.Flags().BoolVar(&recover, "recover", false, "first unlock a protected device (APPROTECT) by erasing its flash (nrfutil, nrfjprog; modem credentials are not in flash)")
	return cmd
}

func (a *app) newResetCmd() *cobra.Command {
	var rf runnerFlags
	var dryRun bool
	cmd := usesProbe(&cobra.Command{
		Use:   "reset [--kind system|pin|debug]",
		Short: "Reset the board through the flash runner (the probe), e.g. a modem stuck inside quotes",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, cleanup, err := a.newFlasher(rf, nil, dryRun)
			if err != nil {
				return err
			}
			defer cleanup()
			cmds, err := f.planReset()
			if err != nil {
				return err
			}
			if !dryRun {
				if err := f.exec(cmd.Context(), string(f.kind)+" reset", cmds); err != nil {
					return err
				}
			}
			return a.print("reset", newFlashResult(f.r, f.kind, nil, cmds, dryRun))
		},
	})
	addRunnerFlags(cmd, &rf, "kind")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact command lines, run nothing")
	return cmd
}
