package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/flash"
)

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
