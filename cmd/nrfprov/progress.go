package main

import (
	"fmt"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/progress"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// progress returns the command's progress renderer, chosen once: bars when stderr is a
// terminal, plain lines otherwise, nothing under --json.
func (a *app) progress() *progress.Renderer {
	if a.prog == nil {
		a.prog = progress.New(a.stderr, progress.ModeFor(a.stderr, a.bf.json))
	}
	return a.prog
}

// endProgress draws the last frame; the result and errors are printed after it.
func (a *app) endProgress() {
	if a.prog != nil {
		a.prog.Close()
	}
}

// atProgress feeds a board's progress from the AT layer's byte counts.
func atProgress(b *progress.Board) func(at.Transfer) {
	return func(t at.Transfer) {
		what := t.Command + " sent"
		if t.Dir == at.Received {
			what = t.Command + " received"
		}
		b.Transfer(what, t.Done, t.Total)
	}
}

// provisionEvents renders provision's steps on a board's progress.
func provisionEvents(b *progress.Board) func(provision.Event) {
	return func(e provision.Event) {
		if e.Kind == provision.EventApply {
			b.Step("  [%d/%d] %s", e.Done+1, e.Total, e.Message)
			return
		}
		b.Step("%s: %s", e.Kind, e.Message)
	}
}

// flashProgress renders a runner's percentages on a board's progress.
func flashProgress(b *progress.Board) func(flash.Progress) {
	return func(p flash.Progress) {
		if p.Percent >= 0 {
			b.Percent(fmt.Sprintf("%s [%d/%d]", p.Runner, p.Step, p.Steps), p.Percent)
		}
	}
}
