package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/serialio"
)

// Many boards at once: `provision -m F --board SN1 --board SN2 …` or `--all`. Each board runs
// the whole provision workflow on its own goroutine with its own transport plugin process; a
// failure on one board does not stop the others. The report is per board, and the exit code
// follows the rule in docs/exit-codes.md (multiExit).

// exitMixed: boards failed with different exit codes (docs/exit-codes.md).
const exitMixed = 12

// boardList is the repeatable --board flag: the first value is the board of every verb, all of
// them the boards of a multi-board provision.
type boardList struct{ f *boardFlags }

func (b boardList) String() string { return strings.Join(b.f.boards, ",") }
func (b boardList) Type() string   { return "serial" }
func (b boardList) Set(v string) error {
	for _, sn := range strings.Split(v, ",") {
		sn = strings.TrimSpace(sn)
		if sn == "" {
			return errors.New("empty serial number")
		}
		b.f.boards = append(b.f.boards, sn)
	}
	b.f.board = b.f.boards[0]
	return nil
}

// multiBoard says whether the command line asks for several boards.
func (a *app) multiBoard(pf provisionFlags) bool { return pf.all || len(a.bf.boards) > 1 }

// singleBoard refuses several --board values for the verbs that talk to one board.
func (a *app) singleBoard() error {
	if len(a.bf.boards) > 1 {
		return usageError{fmt.Errorf("--board given %d times: only provision and plan take several boards", len(a.bf.boards))}
	}
	return nil
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
	for i, b := range r.Boards {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := "ok"
		if b.ExitCode != 0 {
			state = fmt.Sprintf("failed (exit %d)", b.ExitCode)
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
	ok := 0
	for _, b := range r.Boards {
		if b.ExitCode == 0 {
			ok++
		}
	}
	fmt.Fprintf(w, "\n%d of %d boards done\n", ok, len(r.Boards))
}

// multiExit is the overall exit code: 0 when every board succeeded; otherwise the code the
// failed boards share, or exitMixed when their codes differ.
func multiExit(codes []int) int {
	overall := 0
	for _, c := range codes {
		switch {
		case c == 0:
		case overall == 0:
			overall = c
		case overall != c:
			return exitMixed
		}
	}
	return overall
}

// errBoardsFailed carries the overall exit code of a multi-board run whose report is printed.
type errBoardsFailed struct{ code, failed, total int }

func (e errBoardsFailed) Error() string {
	return fmt.Sprintf("provision: %d of %d boards failed (see the per-board report)", e.failed, e.total)
}

// multiBoards lists the serial numbers to provision: the --board values, or with --all every
// connected board serialio finds.
func (a *app) multiBoards(pf provisionFlags) ([]string, error) {
	if a.bf.port != "" {
		return nil, usageError{errors.New("--port names one board: give several boards with --board (repeated) or --all")}
	}
	if a.bf.transport != "serial" {
		return nil, usageError{fmt.Errorf("several boards are found by their USB serial number, which the %s transport cannot do: run nrfprov once per board with --port", a.bf.transport)}
	}
	if pf.all && len(a.bf.boards) > 0 {
		return nil, usageError{errors.New("--all and --board: give one or the other")}
	}
	if !pf.all {
		seen := map[string]bool{}
		for _, sn := range a.bf.boards {
			k := strings.TrimLeft(sn, "0")
			if seen[k] {
				return nil, usageError{fmt.Errorf("--board %s given twice", sn)}
			}
			seen[k] = true
		}
		return a.bf.boards, nil
	}
	ports, err := serialio.ListPorts()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	var sns []string
	for _, b := range serialio.Boards(ports) {
		if b.SerialNumber != "" {
			sns = append(sns, b.SerialNumber)
		}
	}
	if len(sns) == 0 {
		return nil, fmt.Errorf("--all: %w", serialio.ErrNoBoard)
	}
	return sns, nil
}

// runMulti provisions (or plans) several boards concurrently.
func (a *app) runMulti(ctx context.Context, command string, pf provisionFlags) error {
	m, err := provision.Load(pf.manifest, a.secrets.Lookup)
	if err != nil {
		return usageError{err}
	}
	a.applyBoardDefaults(m.Board)
	a.bf.board = "" // the manifest's board default names one board; the list decides here
	sns, err := a.multiBoards(pf)
	if err != nil {
		return err
	}
	var resetArgv []string
	if pf.resetCmd != "" {
		if resetArgv, err = splitCommand(pf.resetCmd); err != nil {
			return usageError{fmt.Errorf("--reset-cmd: %w", err)}
		}
	}
	host, _, err := a.host()
	if err != nil {
		return err
	}
	defer host.Close()

	var outMu sync.Mutex
	res := multiResult{Boards: make([]boardOutcome, len(sns)), planOnly: pf.dryRun}
	var wg sync.WaitGroup
	for i, sn := range sns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := provision.Options{
				Host:          host,
				Device:        a.deviceOptions(),
				MaxRecoveries: pf.maxRecoveries,
				DryRun:        pf.dryRun,
				KeepCFUN:      a.bf.keepCFUN,
			}
			o.Device.Board, o.Device.Port = sn, ""
			o.Device.AllowReserved = o.Device.AllowReserved || m.AllowReserved
			o.Device.Log = a.log.WithField("board", sn)
			if a.bf.traceWire {
				o.Device.Trace = func(t time.Time, dir at.Direction, p []byte) {
					outMu.Lock()
					defer outMu.Unlock()
					fmt.Fprintf(a.stderr, "[%s] wire %s %s %q\n", sn, t.Format("15:04:05.000000"), dir, p)
				}
			}
			if resetArgv != nil {
				o.Reset = commandResetter{argv: resetArgv, sn: sn, log: &prefixWriter{w: a.stderr, mu: &outMu, prefix: "[" + sn + "] "}}
			}
			if !a.bf.json {
				o.Events = func(e provision.Event) {
					outMu.Lock()
					defer outMu.Unlock()
					if e.Kind == provision.EventApply {
						fmt.Fprintf(a.stderr, "[%s]   [%d/%d] %s\n", sn, e.Done+1, e.Total, e.Message)
						return
					}
					fmt.Fprintf(a.stderr, "[%s] %s: %s\n", sn, e.Kind, e.Message)
				}
			}
			rep, err := provision.Run(ctx, m, o)
			bo := boardOutcome{Board: sn, Report: rep}
			if err == nil && rep != nil && !pf.dryRun {
				switch rep.Worst() {
				case provision.OutcomeFailed:
					err = errVerifyFailed
				case provision.OutcomeUnverifiable:
					err = errUnverifiable
				}
			}
			if err != nil {
				bo.ExitCode = exitFor(err)
				bo.Error = err.Error()
				bo.Hints = append(hints(err), boardHints(err)...)
			}
			if rep != nil && len(rep.Results) == 0 && err != nil && !pf.dryRun {
				bo.Report = nil // connected to nothing: no report to show
			}
			res.Boards[i] = bo
		}()
	}
	wg.Wait()

	codes := make([]int, len(res.Boards))
	failed := 0
	for i, b := range res.Boards {
		codes[i] = b.ExitCode
		if b.ExitCode != 0 {
			failed++
		}
	}
	res.ExitCode = multiExit(codes)
	if err := a.print(command, res); err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return errBoardsFailed{code: res.ExitCode, failed: failed, total: len(sns)}
	}
	return nil
}

// prefixWriter writes each line with a prefix, under a shared lock (the reset command's output
// of several boards on one stderr).
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if !p.mid {
			out = append(out, p.prefix...)
			p.mid = true
		}
		out = append(out, c)
		if c == '\n' {
			p.mid = false
		}
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
