// Package progress draws the progress of long operations on the CLI's stderr: live bars (bytes of
// total, rate, time left; one per board) on a terminal, plain log lines anywhere else, nothing at
// all when the output is JSON. The bars are drawn by github.com/vbauerster/mpb.
//
// The libraries below the CLI only report numbers (at.Transfer, provision.Event,
// flash.Progress); this package turns them into what a person sees.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Mode is how progress is shown.
type Mode int

const (
	// None shows nothing (--json: programs read stdout, and stderr carries only errors).
	None Mode = iota
	// Lines writes one plain line per step and per quarter of a long transfer.
	Lines
	// Bars draws live bars, one per board, with plain step lines above them.
	Bars
)

func (m Mode) String() string {
	switch m {
	case Lines:
		return "lines"
	case Bars:
		return "bars"
	}
	return "none"
}

// ModeFor picks the mode for output w: None under JSON, Bars when w is a terminal, else Lines.
func ModeFor(w io.Writer, json bool) Mode {
	if json {
		return None
	}
	if f, ok := w.(interface{ Fd() uintptr }); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return Bars
	}
	return Lines
}

// MinBytes is the smallest transfer worth a bar or a line: shorter commands are over before a
// person could read them.
const MinBytes = 256

// QuarterBytes is the smallest transfer that gets a line per quarter when not on a terminal;
// shorter ones get one line at the end.
const QuarterBytes = 1024

// Renderer draws the progress of one command run. Its methods may be called from many
// goroutines (one per board). Close it once the work is done, before printing the result.
type Renderer struct {
	mode Mode
	w    io.Writer
	now  func() time.Time

	mu     sync.Mutex    // serializes plain lines; guards the fields below
	p      *mpb.Progress // the bars' container, from the first bar on (Bars)
	boards []*Board
	closed bool // no bars after Close
}

// New returns a renderer writing to w (stderr) in the given mode. Nothing is drawn, and no
// goroutine runs, until the first transfer.
func New(w io.Writer, mode Mode) *Renderer {
	return &Renderer{mode: mode, w: w, now: time.Now}
}

// Writer is w for other lines (logs, notes): while bars are drawn it prints each write above
// them instead of through them.
func (r *Renderer) Writer() io.Writer { return lineWriter{r} }

type lineWriter struct{ r *Renderer }

func (l lineWriter) Write(b []byte) (int, error) {
	r := l.r
	r.mu.Lock()
	p := r.p
	if p == nil || r.closed {
		defer r.mu.Unlock()
		return r.w.Write(b)
	}
	r.mu.Unlock()
	if n, err := p.Write(b); err == nil {
		return n, nil
	}
	// The bars ended in between: straight to w.
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Write(b)
}

// Mode is the renderer's mode.
func (r *Renderer) Mode() Mode { return r.mode }

// Close completes every bar and waits until the last frame is drawn.
func (r *Renderer) Close() {
	r.mu.Lock()
	boards, closed, p := r.boards, r.closed, r.p
	r.closed = true
	r.mu.Unlock()
	if closed || p == nil {
		return
	}
	for _, b := range boards {
		b.Done()
	}
	p.Wait()
}

// Board is the progress of one board: its steps and its transfers. name prefixes its lines
// ("[SN] …") when several boards run at once; "" for a single board.
func (r *Renderer) Board(name string) *Board {
	b := &Board{r: r, name: name}
	r.mu.Lock()
	r.boards = append(r.boards, b)
	r.mu.Unlock()
	return b
}

// addBar adds the board's bar to the display, at its first transfer (a board that only
// takes steps shows lines only).
func (b *Board) addBar() {
	label := "board"
	if b.name != "" {
		label = b.name
	}
	// Under the renderer's lock, so that Close either completes this bar or comes first and
	// leaves none to add (mpb refuses bars after Wait).
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	if b.r.closed {
		return
	}
	if b.r.p == nil {
		b.r.p = mpb.New(mpb.WithOutput(b.r.w), mpb.WithWidth(80), mpb.WithRefreshRate(100*time.Millisecond), mpb.ForceTTY())
	}
	bar, err := b.r.p.Add(0, mpb.BarStyle().Build(),
		mpb.PrependDecorators(
			decor.Name(label, decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string { return b.label() }, decor.WCSyncSpaceR),
			decor.Any(func(s decor.Statistics) string {
				if b.percent() {
					return ""
				}
				return fmt.Sprintf("% .1f / % .1f", decor.SizeB1024(s.Current), decor.SizeB1024(s.Total))
			}, decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			decor.Percentage(decor.WCSyncSpace),
			decor.Meta(decor.EwmaSpeed(decor.SizeB1024(0), "% .1f", 30, decor.WCSyncSpace), func(s string) string {
				if b.percent() {
					return ""
				}
				return s
			}),
			decor.Name(" left "),
			decor.EwmaETA(decor.ET_STYLE_MMSS, 30),
		),
	)
	if err == nil {
		b.bar = bar
	}
}

// Board reports one board's progress. A nil *Board reports nothing.
type Board struct {
	r    *Renderer
	name string
	bar  *mpb.Bar
	// barOnce adds bar at the first transfer.
	barOnce sync.Once

	mu       sync.Mutex
	what     string    // the transfer in progress
	total    int       // its size (for Lines)
	quarter  int       // quarters of it already printed (Lines)
	start    time.Time // when it started
	last     time.Time // the previous report
	inFlight bool
	cur      int  // its previous report
	unitPct  bool // the transfer counts percent, not bytes
	done     bool
}

func (b *Board) percent() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unitPct
}

func (b *Board) label() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.what
}

// Step reports a step of the work, one line ("[SN] connect: /dev/ttyACM0").
func (b *Board) Step(format string, args ...any) {
	if b == nil || b.r.mode == None {
		return
	}
	line := fmt.Sprintf(format, args...)
	if b.name != "" {
		line = "[" + b.name + "] " + line
	}
	b.r.line(line)
}

func (r *Renderer) line(s string) {
	fmt.Fprintln(r.Writer(), s) // above the bars while there are any
}

// Transfer reports done of total bytes of the transfer named what ("%CMNG sent"). A report with
// done == 0, or with another name than the previous one, starts a new transfer. Transfers
// shorter than MinBytes are not shown.
func (b *Board) Transfer(what string, done, total int) {
	if b == nil || b.r.mode == None {
		return
	}
	b.mu.Lock()
	ends := b.inFlight && what == b.what // a transfer that shrank to its real size ends
	b.mu.Unlock()
	if total < MinBytes && !ends {
		return
	}
	b.update(what, done, total, false)
}

// Percent reports a step measured in percent (a flash runner's output).
func (b *Board) Percent(what string, pct int) {
	if b == nil || b.r.mode == None {
		return
	}
	b.update(what, pct, 100, true)
}

func (b *Board) update(what string, done, total int, pct bool) {
	now := b.r.now()
	b.mu.Lock()
	fresh := !b.inFlight || what != b.what || done == 0 || done < b.cur || pct != b.unitPct
	if !fresh && total != b.total {
		b.quarter = min(4, b.quarter*total/max(b.total, 1)) // the total was an estimate
		b.total = total
	}
	if fresh {
		b.what, b.total, b.quarter, b.start, b.last, b.inFlight, b.unitPct = what, total, 0, now, now, true, pct
	}
	iter := now.Sub(b.last)
	b.last, b.cur = now, done
	var lines []string
	if b.r.mode == Lines {
		q := min(4, done*4/total)
		if !pct && total < QuarterBytes && done < total {
			q = 0 // a short transfer gets one line, at its end
		}
		if q > b.quarter && (pct || done >= MinBytes) {
			b.quarter = q
			if pct {
				lines = append(lines, b.prefix()+fmt.Sprintf("  %s: %d%%", what, done))
			} else {
				lines = append(lines, b.lineFor(done, total, now))
			}
		}
	}
	if done >= total {
		b.inFlight = false
	}
	b.mu.Unlock()
	for _, l := range lines {
		b.r.line(l)
	}
	if b.r.mode == Bars {
		b.barOnce.Do(b.addBar)
		if b.bar == nil {
			return
		}
		if fresh {
			b.bar.SetTotal(int64(total), false)
			b.bar.SetCurrent(0)
		}
		b.bar.EwmaSetCurrent(int64(min(done, total)), iter)
	}
}

func (b *Board) lineFor(done, total int, now time.Time) string {
	s := fmt.Sprintf("  %s: %d of %d bytes", b.what, min(done, total), total)
	if el := now.Sub(b.start); el > 0 && done > 0 {
		rate := float64(done) / el.Seconds()
		s += fmt.Sprintf(", %.0f B/s", rate)
		if done < total {
			s += fmt.Sprintf(", %s left", (time.Duration(float64(total-done) / rate * float64(time.Second))).Round(100*time.Millisecond))
		}
	}
	return b.prefix() + s
}

func (b *Board) prefix() string {
	if b.name == "" {
		return ""
	}
	return "[" + b.name + "]"
}

// Done ends the board's bar.
func (b *Board) Done() {
	if b == nil || b.r.mode != Bars {
		return
	}
	b.barOnce.Do(func() {}) // no bar is added after Done
	if b.bar == nil {
		return
	}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.done = true
	b.mu.Unlock()
	b.bar.SetTotal(-1, true)
}
