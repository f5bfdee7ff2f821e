package flash

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Progress is one line of a runner's output; Percent is what it printed as a percentage, or -1.
type Progress struct {
	Runner  string
	Step    int // command index within the operation, from 1
	Steps   int
	Percent int
	Line    string
}

// ExecOptions tune Exec.
type ExecOptions struct {
	// Log receives every output line of the runner (Info) and each command line (Debug). Nil
	// discards them.
	Log *logrus.Entry
	// Progress receives every output line, with the percentage when it carries one.
	Progress func(Progress)
	// Timeout bounds each command (default 5 minutes: a chip erase and program of a full nRF91
	// image takes well under a minute).
	Timeout time.Duration
	// LookPath finds the executables (default FindTool).
	LookPath LookPath
}

// RunError is a runner command that failed: its command line, exit status and last lines.
type RunError struct {
	Command  string
	ExitCode int // -1 when it did not exit (killed, timed out)
	Tail     []string
	Err      error
	// Cause is what the exit status means where the tool documents it (nrfjprog): it wraps
	// ErrProtected, ErrProbeNotFound and the like. Nil otherwise.
	Cause error
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("flash: %s: %v", e.Command, e.Err)
	if e.Cause != nil {
		msg += ": " + strings.TrimPrefix(e.Cause.Error(), "flash: ")
	}
	if len(e.Tail) > 0 {
		msg += ": " + strings.Join(e.Tail, " / ")
	}
	return msg
}

func (e *RunError) Unwrap() []error {
	errs := []error{ErrRunner, e.Err}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

var percent = regexp.MustCompile(`(?:^|[^0-9])([0-9]{1,3})\s?%`)

// Exec runs the commands of one operation in order, stopping at the first failure.
func Exec(ctx context.Context, r *Runner, cmds []Command, o ExecOptions) error {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.LookPath == nil {
		o.LookPath = FindTool
	}
	log := o.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = logrus.NewEntry(l)
	}
	log = log.WithField("runner", r.Name)
	for i, c := range cmds {
		emit := func(line string) {
			log.Info(line)
			if o.Progress != nil {
				p := Progress{Runner: r.Name, Step: i + 1, Steps: len(cmds), Percent: -1, Line: line}
				if m := percent.FindStringSubmatch(line); m != nil {
					if n, err := strconv.Atoi(m[1]); err == nil && n <= 100 {
						p.Percent = n
					}
				}
				o.Progress(p)
			}
		}
		if err := runOne(ctx, r, c, o, log, emit); err != nil {
			return err
		}
	}
	return nil
}

func runOne(ctx context.Context, r *Runner, c Command, o ExecOptions, log *logrus.Entry, emit func(string)) error {
	for _, f := range c.Files {
		if err := os.WriteFile(f.Path, []byte(f.Content), 0o600); err != nil {
			return fmt.Errorf("flash: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	log.WithField("command", c.String()).Debug("running")
	if c.builtin != nil {
		if err := c.builtin(ctx, emit); err != nil {
			return &RunError{Command: c.String(), ExitCode: -1, Err: err}
		}
		return nil
	}
	path, err := o.LookPath(c.Argv[0])
	if err != nil {
		owner := r
		for _, x := range runners {
			if x.Exe == c.Argv[0] {
				owner = x
			}
		}
		return &NotInstalledError{Runner: owner.Name, Exe: c.Argv[0], Install: owner.Install}
	}
	cmd := exec.CommandContext(ctx, path, c.Argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("flash: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return &RunError{Command: c.String(), ExitCode: -1, Err: err}
	}
	// Each pipe has its own reader; lines reach the logger one at a time, and the last few of
	// each stream are kept for the error message (stderr's when it has any: that is where the
	// tools put their errors, J-Link Commander excepted).
	var mu sync.Mutex
	tails := make([][]string, 2)
	var wg sync.WaitGroup
	for i, p := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(p)
			sc.Buffer(make([]byte, 4096), 1<<20)
			for sc.Scan() {
				line := strings.TrimRight(sc.Text(), "\r")
				if strings.TrimSpace(line) == "" {
					continue
				}
				mu.Lock()
				emit(line)
				tails[i] = append(tails[i], line)
				if len(tails[i]) > 3 {
					tails[i] = tails[i][1:]
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return nil
	}
	tail := tails[1]
	if len(tail) == 0 {
		tail = tails[0]
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return &RunError{Command: c.String(), ExitCode: code, Tail: tail, Err: err, Cause: toolCause(c.Argv[0], code)}
}
