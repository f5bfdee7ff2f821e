package main

// The one door to the terminal. Nothing else in cmd/nrfprov writes to stdout or stderr.
//
//   - a.print(command, r): the verb's result, on stdout; text for people (r.text, render.go), or
//     under --json exactly one {"schema", "command", "result"} document (docs/json.md). Every verb
//     ends in one a.print, and prints nothing else.
//   - a.progress: chosen once at setup (live bars on a terminal, plain lines elsewhere, none under
//     --json: internal/progress); multi-board runs take a.progress.board(sn), the same renderer
//     with a "[sn] " prefix and a bar of their own. Library events (provision.Event,
//     flash.Progress, at.Transfer) go through it, never straight to a writer.
//   - a.notef: a step the user must see even under --json ("flash: the application is back"),
//     on stderr.
//   - a.printError: "nrfprov: <err>" and its "  hint:" lines on stderr (exitcodes.go).
//   - a.stream: the raw byte bridge of `nrfprov plugin connect` (a stream, not a result).

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/flash"
	bars "github.com/nrfprov/nrfprov/internal/progress"
	"github.com/nrfprov/nrfprov/internal/provision"
)

// result is what a command prints: text for people, a JSON object for programs.
type result interface {
	text(w io.Writer)
}

const jsonSchema = 1

func (a *app) print(command string, r result) error {
	a.progress.end()
	if !a.json {
		r.text(a.stdout)
		return nil
	}
	env := struct {
		Schema  int    `json:"schema"`
		Command string `json:"command"`
		Result  result `json:"result"`
	}{jsonSchema, command, r}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(env)
}

// stream copies r to stdout until r ends.
func (a *app) stream(r io.Reader) error {
	_, err := io.Copy(a.stdout, r)
	return err
}

// printError writes the error and its remedies on stderr.
func (a *app) printError(err error, hints []string) {
	fmt.Fprintf(a.stderr, "nrfprov: %v\n", err)
	for _, h := range hints {
		fmt.Fprintf(a.stderr, "  hint: %s\n", h)
	}
}

// notef writes one line on stderr, whatever the output format.
func (a *app) notef(format string, args ...any) {
	a.progress.mu.Lock()
	defer a.progress.mu.Unlock()
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// progress renders what long operations report, on stderr. The zero-output variant (under
// --json) has off set; callers never test the format.
type progress struct {
	w      io.Writer   // stderr; above the bars while there are any
	mu     *sync.Mutex // one lock for every board's lines
	prefix string      // "[sn] " on a multi-board run
	off    bool
	bars   *bars.Renderer
	bar    *bars.Board // this board's transfers (progress.go)
}

func newProgress(w io.Writer, off bool) progress {
	r := bars.New(w, bars.ModeFor(w, off))
	return progress{w: r.Writer(), mu: &sync.Mutex{}, off: off, bars: r, bar: r.Board("")}
}

// board is the renderer of one board of a multi-board run.
func (p progress) board(sn string) progress {
	p.prefix = "[" + sn + "] "
	p.bar = p.bars.Board(sn)
	return p
}

func (p progress) line(format string, args ...any) {
	if p.off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, p.prefix+format+"\n", args...)
}

// event renders a provisioning step; nil under --json so the library skips the work.
func (p progress) events() func(provision.Event) {
	if p.off {
		return nil
	}
	return func(e provision.Event) {
		if e.Kind == provision.EventApply {
			p.line("  [%d/%d] %s", e.Done+1, e.Total, e.Message)
			return
		}
		p.line("%s: %s", e.Kind, e.Message)
	}
}

// flash renders a flash runner's percentages: a bar on a terminal, a line per quarter elsewhere.
func (p progress) flash() func(flash.Progress) {
	return func(fp flash.Progress) {
		if fp.Percent >= 0 {
			p.bar.Percent(fmt.Sprintf("%s [%d/%d]", fp.Runner, fp.Step, fp.Steps), fp.Percent)
		}
	}
}

// wireTracer writes each chunk on the link to stderr with its time (--trace-wire), also under
// --json. Commands carrying keys or PSKs reach it already redacted.
func (p progress) wireTracer() func(time.Time, at.Direction, []byte) {
	return func(t time.Time, dir at.Direction, b []byte) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "%swire %s %s %q\n", p.prefix, t.Format("15:04:05.000000"), dir, b)
	}
}

// writer is stderr for a child process's output (a --reset-cmd), each line with the prefix.
func (p progress) writer() io.Writer {
	if p.prefix == "" {
		return lockedWriter{p}
	}
	return &prefixWriter{p: p}
}

type lockedWriter struct{ p progress }

func (l lockedWriter) Write(b []byte) (int, error) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	return l.p.w.Write(b)
}

// prefixWriter writes each line with the board's prefix, under the shared lock.
type prefixWriter struct {
	p   progress
	mid bool
}

func (pw *prefixWriter) Write(b []byte) (int, error) {
	pw.p.mu.Lock()
	defer pw.p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if !pw.mid {
			out = append(out, pw.p.prefix...)
			pw.mid = true
		}
		out = append(out, c)
		if c == '\n' {
			pw.mid = false
		}
	}
	if _, err := pw.p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
