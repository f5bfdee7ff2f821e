package main

// The results of the runs (flash, reset, plan, provision, several boards) and of the transport
// verbs, and how they read as text (printed by a.print, printer.go).

import (
	"fmt"
	"io"
	"strings"

	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/plugin"
)

// --- flash, reset

type flashResult struct {
	Runner   string   `json:"runner"`
	Image    string   `json:"image,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Kind     string   `json:"reset_kind"`
	Commands []string `json:"commands"`
	DryRun   bool     `json:"dry_run,omitempty"`
	plan     []flash.Command
}

func newFlashResult(r *flash.Runner, kind flash.ResetKind, img *flash.Image, cmds []flash.Command, dryRun bool) flashResult {
	res := flashResult{Runner: r.Name, Kind: string(kind), Commands: commandLines(cmds), DryRun: dryRun, plan: cmds}
	if img != nil {
		res.Image, res.SHA256 = img.Path, img.SHA256
	}
	return res
}

func (r flashResult) text(w io.Writer) {
	switch {
	case r.DryRun:
		printPlan(w, r.plan)
	case r.Image != "":
		fmt.Fprintf(w, "programmed %s (sha256 %s) with %s, %s reset\n", r.Image, r.SHA256, r.Runner, r.Kind)
	default:
		fmt.Fprintf(w, "%s reset with %s\n", r.Kind, r.Runner)
	}
}

func commandLines(cmds []flash.Command) []string {
	s := []string{}
	for _, c := range cmds {
		s = append(s, c.String())
	}
	return s
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

// workflowPlanResult is `provision --flash-at-client … --dry-run`: the runner's commands for
// each step; the provisioning plan itself needs the AT client running.
type workflowPlanResult struct {
	DryRun      bool         `json:"dry_run"`
	ATClient    flashResult  `json:"at_client"`
	Application *flashResult `json:"application,omitempty"` // absent with --keep-at-client
}

func (r workflowPlanResult) text(w io.Writer) {
	fmt.Fprintln(w, "# 1. the AT client")
	printPlan(w, r.ATClient.plan)
	fmt.Fprintln(w, "# 2. provision (the plan needs the AT client running: `nrfprov plan` after step 1 shows it)")
	if r.Application != nil {
		fmt.Fprintln(w, "# 3. the application")
		printPlan(w, r.Application.plan)
	}
}

// --- plan, provision

type reportResult struct {
	*provision.Report
	planOnly bool
}

func (r reportResult) text(w io.Writer) {
	fmt.Fprintf(w, "device: %s, IMEI %s, %s (%s AT)\n", r.Device.Port, r.Device.IMEI, r.Device.ModemFirmware, r.Device.Dialect)
	if r.planOnly {
		table(w, func(tw io.Writer) {
			fmt.Fprintln(tw, "SEC_TAG\tTYPE\tACTION\tREASON")
			for _, it := range r.Plan.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", it.SecTag, it.TypeName, it.Action, it.Reason)
			}
		})
		identityPlanText(w, r.Plan.Identity)
		fmt.Fprintf(w, "%d of %d to change\n", r.Plan.Changes(), len(r.Plan.Items)+identityItems(r.Plan.Identity))
		return
	}
	table(w, func(tw io.Writer) {
		fmt.Fprintln(tw, "SEC_TAG\tTYPE\tACTION\tOUTCOME\tPROOF\tSHA-256")
		for _, res := range r.Results {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", res.SecTag, res.TypeName, dash(string(res.Action)), res.Outcome, res.Proof, dash(res.SHA256))
		}
	})
	for _, res := range r.Results {
		if res.Detail != "" {
			fmt.Fprintf(w, "  %d %s: %s\n", res.SecTag, res.TypeName, res.Detail)
		}
	}
	identityReportText(w, r.Identity)
	fmt.Fprintf(w, "%d written, %d deleted, %d resets\n", r.Writes, r.Deletes, r.Recoveries)
}

// demoResult is the two provisioning runs of the demo.
type demoResult struct {
	Runs []reportResult `json:"runs"`
}

func (r demoResult) text(w io.Writer) {
	for i, run := range r.Runs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		run.text(w)
	}
}

// boardOutcome is one board's part of a multi-board run.
type boardOutcome struct {
	Board    string            `json:"board"`
	ExitCode int               `json:"exit_code"`
	Error    string            `json:"error,omitempty"`
	Hints    []string          `json:"hints,omitempty"`
	Report   *provision.Report `json:"report,omitempty"`
}

type multiResult struct {
	Boards   []boardOutcome `json:"boards"`
	ExitCode int            `json:"exit_code"`
	planOnly bool
}

func (r multiResult) text(w io.Writer) {
	ok := 0
	for i, b := range r.Boards {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := "ok"
		if b.ExitCode != 0 {
			state = fmt.Sprintf("failed (exit %d)", b.ExitCode)
		} else {
			ok++
		}
		fmt.Fprintf(w, "== board %s: %s\n", b.Board, state)
		if b.Report != nil && (b.Error == "" || len(b.Report.Results) > 0 || r.planOnly) {
			reportResult{b.Report, r.planOnly}.text(w)
		}
		if b.Error != "" {
			fmt.Fprintf(w, "error: %s\n", b.Error)
			for _, h := range b.Hints {
				fmt.Fprintf(w, "  hint: %s\n", h)
			}
		}
	}
	fmt.Fprintf(w, "\n%d of %d boards done\n", ok, len(r.Boards))
}

// --- transports, transports lock

// transportRow is one line of `nrfprov transports`.
type transportRow struct {
	Name         string              `json:"name"`
	Source       plugin.Source       `json:"source"`
	Path         string              `json:"path"`
	Status       string              `json:"status"` // builtin | locked | not-locked | checksum-mismatch | error
	Version      string              `json:"version,omitempty"`
	Protocol     int                 `json:"protocol,omitempty"`
	Capabilities []plugin.Capability `json:"capabilities"`
	Description  string              `json:"description,omitempty"`
	Shadowed     []string            `json:"shadowed,omitempty"`
	Error        string              `json:"error,omitempty"`
}

type transportsResult struct {
	Transports []transportRow `json:"transports"`
}

func (r transportsResult) text(w io.Writer) {
	table(w, func(tw io.Writer) {
		fmt.Fprintln(tw, "NAME\tVERSION\tSTATUS\tCAPABILITIES\tPATH")
		for _, r := range r.Transports {
			caps := make([]string, len(r.Capabilities))
			for i, c := range r.Capabilities {
				caps[i] = string(c)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Version), r.Status, dash(strings.Join(caps, ",")), r.Path)
		}
	})
	for _, r := range r.Transports {
		for _, s := range r.Shadowed {
			fmt.Fprintf(w, "note: %s is shadowed by %s and ignored\n", s, r.Path)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Error)
		}
		if r.Status == "not-locked" {
			fmt.Fprintf(w, "%s: not pinned, so not run: `nrfprov transports lock` pins it\n", r.Name)
		}
	}
}

type pinnedTransport struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Path   string `json:"path"`
}

type lockResult struct {
	LockFile string            `json:"lock_file"`
	Pinned   []pinnedTransport `json:"pinned"`
}

func (r lockResult) text(w io.Writer) {
	for _, p := range r.Pinned {
		fmt.Fprintf(w, "pinned %s sha256:%s %s\n", p.Name, p.SHA256, p.Path)
	}
	fmt.Fprintf(w, "wrote %s (%d external transports)\n", r.LockFile, len(r.Pinned))
}
