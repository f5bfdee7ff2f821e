package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/serialio"
)

// Many boards at once: `provision -m F --board SN1 --board SN2 …` or `--all`. Each board runs
// the whole provision workflow on its own goroutine with its own transport plugin process; a
// failure on one board does not stop the others. The report is per board, and the exit code
// follows the rule in docs/exit-codes.md (multiExit, exitcodes.go).

// multiBoard says whether the command line asks for several boards.
func (a *app) multiBoard(pf provisionFlags) bool { return pf.all || len(a.bf.boards) > 1 }

// multiBoards lists the serial numbers to provision: the --board values, or with --all every
// connected board serialio finds.
func (a *app) multiBoards(pf provisionFlags) ([]string, error) {
	if a.bf.port != "" {
		return nil, usageError{errors.New("--port names one board: give several boards with --board (repeated) or --all")}
	}
	if a.bf.transport != "serial" {
		return nil, usagef("several boards are found by their USB serial number, which the %s transport cannot do: run nrfprov once per board with --port", a.bf.transport)
	}
	if pf.all && len(a.bf.boards) > 0 {
		return nil, usageError{errors.New("--all and --board: give one or the other")}
	}
	if !pf.all {
		seen := map[string]bool{}
		for _, sn := range a.bf.boards {
			k := strings.TrimLeft(sn, "0")
			if seen[k] {
				return nil, usagef("--board %s given twice", sn)
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
	m, err := a.loadManifest(pf)
	if err != nil {
		return err
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
			return usagef("--reset-cmd: %w", err)
		}
	}
	host, _, err := a.host()
	if err != nil {
		return err
	}
	defer host.Close()

	res := multiResult{Boards: make([]boardOutcome, len(sns)), planOnly: pf.dryRun}
	var wg sync.WaitGroup
	for i, sn := range sns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := a.progress.board(sn)
			o := a.provisionOptions(pf, m, p)
			o.Host = host
			o.Device.Board, o.Device.Port = sn, ""
			o.Device.Log = a.log.WithField("board", sn)
			if resetArgv != nil {
				o.Reset = commandResetter{argv: resetArgv, sn: sn, log: p.writer()}
			}
			rep, err := provision.Run(ctx, m, o)
			p.done()
			if err == nil && rep != nil && !pf.dryRun {
				err = outcomeErr(rep)
			}
			bo := boardOutcome{Board: sn, Report: rep}
			if err != nil {
				bo.ExitCode, bo.Error, bo.Hints = exitFor(err), err.Error(), hintsFor(err, a.link())
				if rep != nil && len(rep.Results) == 0 && !pf.dryRun {
					bo.Report = nil // connected to nothing: no report to show
				}
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
