package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// plan and provision: one board here, several in multi.go, the flash workflow in
// provision.FlashWorkflow.

type provisionFlags struct {
	manifest      string
	dryRun        bool
	resetCmd      string
	maxRecoveries int
	writeLimit    int
	wf            workflowFlags
	all           bool // every connected board (multi.go)
	identityOnly  bool // the manifest's identity only (identity.go)
}

// workflowFlags are provision's flash workflow: AT client in, provision, application back.
type workflowFlags struct {
	atClient     string
	restoreApp   string
	keepATClient bool
	rf           runnerFlags
}

func (a *app) addProvisionFlags(cmd *cobra.Command, pf *provisionFlags, withApply bool) {
	f := cmd.Flags()
	f.StringVarP(&pf.manifest, "manifest", "m", "", "the manifest (YAML): credentials, line endings, prune, board defaults")
	_ = cmd.MarkFlagRequired("manifest")
	f.BoolVar(&pf.all, "all", false, "every connected board, concurrently (see also --board, repeatable)")
	if !withApply {
		return
	}
	f.BoolVar(&pf.dryRun, "dry-run", false, "observe and plan, write nothing (same as `nrfprov plan`)")
	f.StringVar(&pf.resetCmd, "reset-cmd", "", "command that resets the board when it hangs, e.g. \"nrfjprog --reset --snr {sn}\" ({sn}, {port} are replaced; no shell)")
	f.IntVar(&pf.maxRecoveries, "max-recoveries", 2, "resets allowed in one run")
	f.IntVar(&pf.writeLimit, "write-limit", 0, "the longest credential sent to modem firmware known to hang on long writes (default: its inferred limit, 1024 bytes on mfw 0.7.x)")
	wf := &pf.wf
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

func (a *app) newPlanCmd() *cobra.Command {
	var pf provisionFlags
	cmd := opensBoard(&cobra.Command{
		Use:   "plan -m MANIFEST",
		Short: "Show what provision would do: keep, write, replace, delete or unverifiable, per credential",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf.dryRun = true
			return a.runProvision(cmd.Context(), "plan", pf, nil)
		},
	})
	a.addProvisionFlags(cmd, &pf, false)
	return cmd
}

func (a *app) newProvisionCmd() *cobra.Command {
	var pf provisionFlags
	cmd := opensBoard(&cobra.Command{
		Use:   "provision -m MANIFEST",
		Short: "Bring the modem's credentials to the manifest, verified, recovering from hangs",
		Long: `Provision the credentials of a manifest into the modem and prove them.

nrfprov lists what the modem holds, plans (keep, write, replace, delete, unverifiable), applies one
command at a time with a deadline, and checks every write. When the board stops answering (an AT
host stuck inside quotes, a hung modem) it resets the board through the transport, --reset-cmd or
--runner,
re-plans from what the modem really holds and goes on; without a way to reset it stops and says
so. Then it verifies everything by SHA-256 (or by read-back where the firmware's hashes prove
nothing) and restores the modem's functional mode. Running it again writes nothing.

With --flash-at-client HEX it first programs the AT client through the flash runner, provisions,
and then always puts the application back (--restore-app HEX, or the image of --build-dir DIR),
reporting both outcomes: see docs/runners.md.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			runnerSet := cmd.Flags().Changed("runner") || cmd.Flags().Changed("gdb-address") || cmd.Flags().Changed("reset-kind")
			return a.runProvisionWorkflow(cmd.Context(), pf, runnerSet)
		},
	})
	a.addProvisionFlags(cmd, &pf, true)
	return cmd
}

// runProvision loads the manifest (every problem reported before the board is touched), runs,
// prints the report, and turns the worst outcome into the exit status.
func (a *app) runProvision(ctx context.Context, command string, pf provisionFlags, reset provision.Resetter) error {
	if a.multiBoard(pf) {
		return a.runMulti(ctx, command, pf)
	}
	rep, err := a.provisionBoard(ctx, pf, reset)
	// JSON always carries the report, also of a failed run (what was proven before it stopped).
	if rep != nil && (err == nil || len(rep.Results) > 0 || command == "plan" || a.json) {
		if perr := a.print(command, reportResult{rep, pf.dryRun}); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	return outcomeErr(rep)
}

// provisionBoard provisions (or plans) the one board of the link flags.
func (a *app) provisionBoard(ctx context.Context, pf provisionFlags, reset provision.Resetter) (*provision.Report, error) {
	// The manifest loads first: its env: secrets leave the environment before any child process
	// (the transport included) starts.
	m, err := a.loadManifest(pf)
	if err != nil {
		return nil, err
	}
	host, _, herr := a.host()
	if herr == nil {
		defer host.Close()
	}
	a.applyBoardDefaults(m.Board)
	o := a.provisionOptions(pf, m, a.progress)
	if pf.resetCmd != "" {
		argv, err := splitCommand(pf.resetCmd)
		if err != nil {
			return nil, usagef("--reset-cmd: %w", err)
		}
		reset = commandResetter{argv: argv, sn: a.bf.board, port: a.bf.port, log: a.progress.writer()}
	}
	o.Reset = reset
	if herr != nil {
		return nil, herr
	}
	o.Host = host
	rep, err := provision.Run(ctx, m, o)
	return rep, a.withReprogram(err)
}

// provisionOptions are the run's options from the flags and the manifest; p renders its progress.
func (a *app) provisionOptions(pf provisionFlags, m *provision.Manifest, p progress) provision.Options {
	o := provision.Options{
		Device:        a.deviceOptions(),
		MaxRecoveries: pf.maxRecoveries,
		WriteLimit:    pf.writeLimit,
		DryRun:        pf.dryRun,
		KeepCFUN:      a.bf.keepCFUN,
		Events:        p.events(),
	}
	o.Device.AllowReserved = o.Device.AllowReserved || m.AllowReserved
	if a.bf.traceWire {
		o.Device.Trace = p.wireTracer()
	}
	o.Device.Progress = p.transfers()
	return o
}

// outcomeErr is the error of a finished run whose report says some credentials failed or
// cannot be proven.
func outcomeErr(rep *provision.Report) error {
	switch rep.Worst() {
	case provision.OutcomeFailed:
		return errVerifyFailed
	case provision.OutcomeUnverifiable:
		return errUnverifiable
	}
	return nil
}

// applyBoardDefaults fills the link flags the user did not set from the manifest.
func (a *app) applyBoardDefaults(d provision.BoardDefaults) {
	if a.bf.port == "" {
		a.bf.port = d.Port
	}
	if a.bf.board == "" {
		a.bf.board = d.Board
	}
	if !a.flagSet("transport") && d.Transport != "" {
		a.bf.transport = d.Transport
	}
	if !a.flagSet("baud") && d.Baud != 0 {
		a.bf.baud, a.bf.baudSet = d.Baud, true
	}
	if !a.flagSet("rtscts") && d.RTSCTS != nil {
		a.bf.rtscts = *d.RTSCTS
	}
	if !a.flagSet("term") && d.Term != "" {
		a.bf.term = d.Term
	}
	if !a.flagSet("dialect") && d.Dialect != "" {
		a.bf.dialect = d.Dialect
	}
}

// runProvisionWorkflow is `provision` with the runner: without --flash-at-client it only lends
// the runner's reset to recovery (when --runner, --gdb-address or --reset-kind is given); with
// it, provision.FlashWorkflow programs the AT client, provisions, and puts the application back.
func (a *app) runProvisionWorkflow(ctx context.Context, pf provisionFlags, runnerSet bool) error {
	wf := pf.wf
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
			return a.runProvision(ctx, pf.command(), pf, nil)
		}
		f, cleanup, err := a.newFlasher(wf.rf, nil, false)
		if err != nil {
			return err
		}
		defer cleanup()
		if _, err := f.planReset(); err != nil {
			return err
		}
		return a.runProvision(ctx, pf.command(), pf, f)
	}
	// Everything is checked before the board is touched.
	if _, err := a.loadManifest(pf); err != nil {
		return err
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
	plan := workflowPlanResult{DryRun: true, ATClient: newFlashResult(f.r, f.kind, atImg, atCmds, true)}
	if appImg != nil {
		appCmds, err := f.planProgram(appImg)
		if err != nil {
			return err
		}
		app := newFlashResult(f.r, f.kind, appImg, appCmds, true)
		plan.Application = &app
	}
	if _, err := f.planReset(); err != nil {
		return err
	}
	if pf.dryRun {
		return a.print(pf.command(), plan)
	}
	w := provision.FlashWorkflow{Flasher: f, ATClient: atImg, App: appImg,
		Events: func(e provision.Event) { a.notef("%s: %s", e.Kind, e.Message) }}
	return w.Run(ctx, func(ctx context.Context, reset provision.Resetter) error {
		return a.runProvision(ctx, pf.command(), pf, reset)
	})
}
