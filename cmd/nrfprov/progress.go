package main

import "github.com/nrfprov/nrfprov/internal/at"

// transfers feeds the board's bar from the AT layer's byte counts: a write as it goes out, a
// long answer as it comes in.
func (p progress) transfers() func(at.Transfer) {
	if p.off {
		return nil
	}
	return func(t at.Transfer) {
		what := t.Command + " sent"
		if t.Dir == at.Received {
			what = t.Command + " received"
		}
		p.bar.Transfer(what, t.Done, t.Total)
	}
}

// done completes the board's bar (a multi-board run's board that finished).
func (p progress) done() { p.bar.Done() }

// end draws the last frame of the bars; results and errors are printed after it.
func (p progress) end() { p.bars.Close() }
