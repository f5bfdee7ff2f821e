package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/serialio"
)

// exitFlash: a flash runner is missing or failed (docs/exit-codes.md).
const exitFlash = 11

// errLeftOnATClient: the application could not be put back after provisioning.
var errLeftOnATClient = errors.New("the board still runs the AT client firmware")

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
		fmt.Fprintf(a.stderr, "nrfprov: note: %v\n", err)
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
	fmt.Fprintf(f.a.stderr, "flash: %s with %s\n", what, f.r.Name)
	last := -1
	return flash.Exec(ctx, f.r, cmds, flash.ExecOptions{
		Log: f.a.log,
		Progress: func(p flash.Progress) {
			if p.Percent >= 0 && p.Percent != last {
				last = p.Percent
				fmt.Fprintf(f.a.stderr, "  %s [%d/%d] %d%%\n", p.Runner, p.Step, p.Steps, p.Percent)
			}
		},
	})
}

func (f *flasher) program(ctx context.Context, img *flash.Image) error {
	cmds, err := f.planProgram(img)
	if err != nil {
		return err
	}
	return f.exec(ctx, "programming "+img.Describe(), cmds)
}

// resetter is the runner's reset as provision's recovery hook.
func (f *flasher) resetter() provision.Resetter {
	return provision.ResetFunc(func(ctx context.Context) error {
		cmds, err := f.planReset()
		if err != nil {
			return err
		}
		return f.exec(ctx, string(f.kind)+" reset", cmds)
	})
}

// printPlan writes the exact commands of a dry run, with generated files' contents.
func printPlan(w io.Writer, cmds []flash.Command) {
	for _, c := range cmds {
		for _, file := range c.Files {
			if strings.HasSuffix(file.Path, ".hex") {
				fmt.Fprintf(w, "# writes %s (the ELF image as Intel HEX)\n", file.Path)
				continue
			}
			fmt.Fprintf(w, "# writes %s:\n", file.Path)
			for _, l := range strings.Split(strings.TrimRight(file.Content, "\n"), "\n") {
				fmt.Fprintf(w, "#   %s\n", l)
			}
		}
		fmt.Fprintln(w, c.String())
	}
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

type flashResult struct {
	Runner   string   `json:"runner"`
	Image    string   `json:"image,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Kind     string   `json:"reset_kind"`
	Commands []string `json:"commands"`
	DryRun   bool     `json:"dry_run,omitempty"`
}

func (r flashResult) text(w io.Writer) {
	if r.DryRun {
		return
	}
	if r.Image != "" {
		fmt.Fprintf(w, "programmed %s (sha256 %s) with %s, %s reset\n", r.Image, r.SHA256, r.Runner, r.Kind)
		return
	}
	fmt.Fprintf(w, "%s reset with %s\n", r.Kind, r.Runner)
}

func commandLines(cmds []flash.Command) []string {
	var s []string
	for _, c := range cmds {
		s = append(s, c.String())
	}
	return s
}

func (a *app) newFlashCmd() *cobra.Command {
	var rf runnerFlags
	var dryRun, recover bool
	cmd := &cobra.Command{
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
			res := flashResult{Runner: f.r.Name, Image: img.Path, SHA256: img.SHA256, Kind: string(f.kind), Commands: commandLines(cmds), DryRun: dryRun}
			if dryRun {
				if !a.bf.json {
					printPlan(a.stdout, cmds)
				}
				return a.print("flash", res)
			}
			if err := f.exec(cmd.Context(), "programming "+img.Describe(), cmds); err != nil {
				return err
			}
			return a.print("flash", res)
		},
	}
	addRunnerFlags(cmd, &rf, "reset-kind")
	cmd.Flags().StringVar(&rf.buildDir, "build-dir", "", "a Zephyr/NCS build directory: its image, and west's --build-dir")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact command lines, run nothing")
	cmd.Flags().BoolVar(&recover, "recover", false, "first unlock a protected device (APPROTECT) by erasing its flash (nrfutil, nrfjprog; modem credentials are not in flash)")
	return cmd
}

func (a *app) newResetCmd() *cobra.Command {
	var rf runnerFlags
	var dryRun bool
	cmd := &cobra.Command{
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
			res := flashResult{Runner: f.r.Name, Kind: string(f.kind), Commands: commandLines(cmds), DryRun: dryRun}
			if dryRun {
				if !a.bf.json {
					printPlan(a.stdout, cmds)
				}
				return a.print("reset", res)
			}
			if err := f.exec(cmd.Context(), string(f.kind)+" reset", cmds); err != nil {
				return err
			}
			return a.print("reset", res)
		},
	}
	addRunnerFlags(cmd, &rf, "kind")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the exact command lines, run nothing")
	return cmd
}

// workflowFlags are provision's flash workflow: AT client in, provision, application back.
type workflowFlags struct {
	atClient     string
	restoreApp   string
	keepATClient bool
	rf           runnerFlags
}

func (a *app) addWorkflowFlags(cmd *cobra.Command, wf *workflowFlags) {
	f := cmd.Flags()
	f.StringVar(&wf.atClient, "flash-at-client", "", "program this AT client image (HEX or ELF) first, then provision, then put the application back")
	f.StringVar(&wf.atClient, "at-client-hex", "", "same as --flash-at-client")
	f.StringVar(&wf.restoreApp, "restore-app", "", "the application image to program after provisioning")
	f.StringVar(&wf.restoreApp, "app-hex", "", "same as --restore-app")
	f.StringVar(&wf.rf.buildDir, "build-dir", "", "the application's build directory (its image is put back; west's --build-dir)")
	f.BoolVar(&wf.keepATClient, "keep-at-client", false, "with --flash-at-client: leave the AT client on the board")
	addRunnerFlags(cmd, &wf.rf, "reset-kind")
	_ = f.MarkHidden("at-client-hex")
	_ = f.MarkHidden("app-hex")
}

// runProvisionWorkflow is `provision` with the runner: without --flash-at-client it only lends
// the runner's reset to recovery (when --runner, --gdb-address or --reset-kind is given); with it, it programs the AT client,
// provisions, and always tries to put the application back, reporting both outcomes.
func (a *app) runProvisionWorkflow(cmd *cobra.Command, pf provisionFlags) error {
	ctx := cmd.Context()
	wf := pf.wf
	runnerSet := cmd.Flags().Changed("runner") || cmd.Flags().Changed("gdb-address") || cmd.Flags().Changed("reset-kind")
	if a.multiBoard(pf) && (wf.atClient != "" || runnerSet) {
		// One runner invocation names one probe: several boards would each need their own.
		return usageError{errors.New("several boards with --flash-at-client or a flash runner are not supported yet: " +
			"run nrfprov once per board, or use --reset-cmd with {sn} for recovery across boards")}
	}
	if wf.atClient == "" {
		if wf.restoreApp != "" || wf.rf.buildDir != "" || wf.keepATClient {
			return usageError{errors.New("--restore-app, --build-dir and --keep-at-client go with --flash-at-client")}
		}
		if !runnerSet {
			return a.runProvision(ctx, "provision", pf, nil)
		}
		f, cleanup, err := a.newFlasher(wf.rf, nil, false)
		if err != nil {
			return err
		}
		defer cleanup()
		if _, err := f.planReset(); err != nil {
			return err
		}
		return a.runProvision(ctx, "provision", pf, f.resetter())
	}
	// Everything is checked before the board is touched.
	if _, err := provision.Load(pf.manifest, a.secrets.Lookup); err != nil {
		return usageError{err}
	}
	atImg, err := loadImage("--flash-at-client", wf.atClient)
	if err != nil {
		return err
	}
	var appImg *flash.Image
	var build *flash.Build
	switch {
	case wf.keepATClient:
		if wf.restoreApp != "" {
			return usageError{errors.New("--keep-at-client and --restore-app contradict each other")}
		}
	case wf.restoreApp == "" && wf.rf.buildDir == "":
		return usageError{errors.New("--flash-at-client needs the application to put back: --restore-app HEX or --build-dir DIR (or --keep-at-client)")}
	default:
		if appImg, build, err = appImage("--restore-app", wf.restoreApp, wf.rf.buildDir); err != nil {
			return err
		}
	}
	f, cleanup, err := a.newFlasher(wf.rf, build, pf.dryRun)
	if err != nil {
		return err
	}
	defer cleanup()
	atCmds, err := f.planProgram(atImg)
	if err != nil {
		return err
	}
	var appCmds []flash.Command
	if appImg != nil {
		if appCmds, err = f.planProgram(appImg); err != nil {
			return err
		}
	}
	if _, err := f.planReset(); err != nil {
		return err
	}
	if pf.dryRun {
		fmt.Fprintln(a.stdout, "# 1. the AT client")
		printPlan(a.stdout, atCmds)
		fmt.Fprintln(a.stdout, "# 2. provision (the plan needs the AT client running: `nrfprov plan` after step 1 shows it)")
		if appCmds != nil {
			fmt.Fprintln(a.stdout, "# 3. the application")
			printPlan(a.stdout, appCmds)
		}
		return nil
	}

	perr := f.exec(ctx, "programming the AT client "+atImg.Describe(), atCmds)
	if perr == nil {
		perr = a.runProvision(ctx, "provision", pf, f.resetter())
	} else {
		perr = fmt.Errorf("programming the AT client: %w", perr)
	}
	if appImg == nil {
		fmt.Fprintln(a.stderr, "flash: the AT client stays on the board (--keep-at-client)")
		return perr
	}
	// The application goes back whatever happened, also after Ctrl-C (a second one forces the
	// exit): a board must never be left silently on the AT client.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	defer cancel()
	if err := f.exec(rctx, "restoring the application "+appImg.Describe(), appCmds); err != nil {
		rerr := fmt.Errorf("%w: restoring the application %s failed: %w; put it back with `nrfprov flash %s`",
			errLeftOnATClient, appImg.Path, err, appImg.Path)
		if perr != nil {
			return fmt.Errorf("%w; and before that: %w", rerr, perr)
		}
		return rerr
	}
	fmt.Fprintf(a.stderr, "flash: the application is back (%s)\n", appImg.Describe())
	return perr
}
