package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/provision"
)

// Exit codes of provision beyond the common ones (docs/exit-codes.md).
const exitUnverifiable = 10 // provisioned, but some credentials cannot be proven on this firmware

type provisionFlags struct {
	manifest      string
	dryRun        bool
	resetCmd      string
	maxRecoveries int
	wf            workflowFlags // the flash workflow (flash.go)
	all           bool          // every connected board (multi.go)
}

func (a *app) addProvisionFlags(cmd *cobra.Command, pf *provisionFlags, withApply bool) {
	f := cmd.Flags()
	f.StringVarP(&pf.manifest, "manifest", "m", "", "the manifest (YAML): credentials, line endings, prune, board defaults")
	_ = cmd.MarkFlagRequired("manifest")
	f.BoolVar(&pf.all, "all", false, "every connected board, concurrently (see also --board, repeatable)")
	if withApply {
		f.BoolVar(&pf.dryRun, "dry-run", false, "observe and plan, write nothing (same as `nrfprov plan`)")
		f.StringVar(&pf.resetCmd, "reset-cmd", "", "command that resets the board when it hangs, e.g. \"nrfjprog --reset --snr {sn}\" ({sn}, {port} are replaced; no shell)")
		f.IntVar(&pf.maxRecoveries, "max-recoveries", 2, "resets allowed in one run")
		a.addWorkflowFlags(cmd, &pf.wf)
	}
}

func (a *app) newPlanCmd() *cobra.Command {
	var pf provisionFlags
	cmd := &cobra.Command{
		Use:   "plan -m MANIFEST",
		Short: "Show what provision would do: keep, write, replace, delete or unverifiable, per credential",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf.dryRun = true
			return a.runProvision(cmd.Context(), "plan", pf, nil)
		},
	}
	a.addProvisionFlags(cmd, &pf, false)
	return cmd
}

func (a *app) newProvisionCmd() *cobra.Command {
	var pf provisionFlags
	cmd := &cobra.Command{
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
			return a.runProvisionWorkflow(cmd, pf)
		},
	}
	a.addProvisionFlags(cmd, &pf, true)
	return cmd
}

// runProvision loads the manifest (every problem reported before the board is touched), runs,
// renders progress and the report, and turns the worst outcome into the exit status.
func (a *app) runProvision(ctx context.Context, command string, pf provisionFlags, reset provision.Resetter) error {
	if a.multiBoard(pf) {
		return a.runMulti(ctx, command, pf)
	}
	m, err := provision.Load(pf.manifest, a.secrets.Lookup)
	if err != nil {
		return usageError{err}
	}
	a.applyBoardDefaults(m.Board)
	host, _, err := a.host()
	if err != nil {
		return err
	}
	defer host.Close()
	o := provision.Options{
		Host:          host,
		Device:        a.deviceOptions(),
		Reset:         reset,
		MaxRecoveries: pf.maxRecoveries,
		DryRun:        pf.dryRun,
		KeepCFUN:      a.bf.keepCFUN,
	}
	o.Device.AllowReserved = o.Device.AllowReserved || m.AllowReserved
	if pf.resetCmd != "" {
		argv, err := splitCommand(pf.resetCmd)
		if err != nil {
			return usageError{fmt.Errorf("--reset-cmd: %w", err)}
		}
		o.Reset = commandResetter{argv: argv, sn: a.bf.board, port: a.bf.port, log: a.stderr}
	}
	if !a.bf.json {
		o.Events = func(e provision.Event) { a.renderEvent(e) }
	}
	rep, err := provision.Run(ctx, m, o)
	// JSON always carries the report, also of a failed run (what was proven before it stopped).
	if rep != nil && (err == nil || len(rep.Results) > 0 || command == "plan" || a.bf.json) {
		if perr := a.print(command, reportResult{rep, pf.dryRun}); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	switch rep.Worst() {
	case provision.OutcomeFailed:
		return errVerifyFailed
	case provision.OutcomeUnverifiable:
		return errUnverifiable
	}
	return nil
}

var (
	errVerifyFailed = fmt.Errorf("provision: some credentials are not as the manifest wants (see the report): %w", errVerify)
	errUnverifiable = errors.New("provision: done, but some credentials cannot be proven on this firmware (see the report)")
	errVerify       = errors.New("verification failed")
)

// applyBoardDefaults fills the board flags the user did not set from the manifest.
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

// renderEvent prints progress on stderr, one plain line per step.
func (a *app) renderEvent(e provision.Event) {
	if e.Kind == provision.EventApply {
		fmt.Fprintf(a.stderr, "  [%d/%d] %s\n", e.Done+1, e.Total, e.Message)
		return
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", e.Kind, e.Message)
}

type reportResult struct {
	*provision.Report
	planOnly bool
}

func (r reportResult) text(w io.Writer) {
	fmt.Fprintf(w, "device: %s, IMEI %s, %s (%s AT)\n", r.Device.Port, r.Device.IMEI, r.Device.ModemFirmware, r.Device.Dialect)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.planOnly {
		fmt.Fprintln(tw, "SEC_TAG\tTYPE\tACTION\tREASON")
		for _, it := range r.Plan.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", it.SecTag, it.TypeName, it.Action, it.Reason)
		}
		tw.Flush()
		fmt.Fprintf(w, "%d of %d to change\n", r.Plan.Changes(), len(r.Plan.Items))
		return
	}
	fmt.Fprintln(tw, "SEC_TAG\tTYPE\tACTION\tOUTCOME\tPROOF\tSHA-256")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", res.SecTag, res.TypeName, dash(string(res.Action)), res.Outcome, res.Proof, dash(res.SHA256))
	}
	tw.Flush()
	for _, res := range r.Results {
		if res.Detail != "" {
			fmt.Fprintf(w, "  %d %s: %s\n", res.SecTag, res.TypeName, res.Detail)
		}
	}
	fmt.Fprintf(w, "%d written, %d deleted, %d resets\n", r.Writes, r.Deletes, r.Recoveries)
}

// commandResetter resets the board by running a command (a flash tool's reset), never through
// a shell. {sn} and {port} in its arguments are replaced.
type commandResetter struct {
	argv     []string
	sn, port string
	log      io.Writer
}

func (c commandResetter) Reset(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	args := make([]string, len(c.argv))
	for i, a := range c.argv {
		args[i] = strings.NewReplacer("{sn}", c.sn, "{port}", c.port).Replace(a)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("reset command %q: %w", strings.Join(args, " "), err)
	}
	return nil
}

// splitCommand splits a command line into arguments: spaces separate, single and double quotes
// group, a backslash outside single quotes keeps the next character. No shell is involved.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\\' && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inArg = true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ' || c == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}
