package at

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timing is what a command's deadline is computed from.
type Timing struct {
	// Baud is the link speed in bit/s; each byte takes 10 bits (8N1). Zero means 115200.
	Baud int
	// Latency is how long the modem may take to answer once the command has arrived
	// (default 2 s; a credential write adds WriteLatency).
	Latency time.Duration
	// WriteLatency is added for commands that write the modem's NVM (default 5 s).
	WriteLatency time.Duration
	// Slack multiplies the wire time, for USB and driver delays (default 1.5).
	Slack float64
}

func (t Timing) withDefaults() Timing {
	if t.Baud <= 0 {
		t.Baud = 115200
	}
	if t.Latency <= 0 {
		t.Latency = 2 * time.Second
	}
	if t.WriteLatency <= 0 {
		t.WriteLatency = 5 * time.Second
	}
	if t.Slack < 1 {
		t.Slack = 1.5
	}
	return t
}

// WireTime is how long n bytes take on the link.
func (t Timing) WireTime(n int) time.Duration {
	t = t.withDefaults()
	return time.Duration(float64(n) * 10 * float64(time.Second) / float64(t.Baud))
}

// Deadline is the time a command of sent bytes, expecting about reply bytes back, may take:
// its wire time (with slack), plus the modem's latency, plus the write latency when it writes.
func (t Timing) Deadline(sent, reply int, writes bool) time.Duration {
	t = t.withDefaults()
	d := time.Duration(float64(t.WireTime(sent+reply))*t.Slack) + t.Latency
	if writes {
		d += t.WriteLatency
	}
	return d
}

// Direction of traced bytes.
type Direction string

const (
	Sent     Direction = "tx"
	Received Direction = "rx"
)

// Config sets a session up.
type Config struct {
	Dialect    Dialect
	Terminator Terminator
	Timing     Timing
	// Quiet is how long the line must stay quiet before the session starts talking (Sync,
	// Detect); 0 means 20 ms, which spans two polls of an RTT link.
	Quiet time.Duration
	// Trace, when set, sees every byte sent and received, with its time. Commands marked
	// secret are traced with their quoted content replaced (see Cmd.Secret).
	Trace func(at time.Time, dir Direction, data []byte)
	// Progress, when set, sees each command's bytes as they go out (Sent) and, for a command
	// that expects a long answer (Cmd.Reply), the bytes received so far (Received). It is
	// called on the goroutine that runs Exec.
	//
	// With Progress set a command goes to the link in chunks of ProgressChunk bytes, each
	// reported once the link took it. With PaceProgress too, each chunk is handed over no
	// earlier than the line (Timing.Baud) has carried the ones before: a serial transport's
	// buffers would otherwise take the whole command at once and the reports would say
	// nothing of the wire. On a UART the wire is the bottleneck either way, so this costs at
	// most one chunk's wire time.
	Progress func(Transfer)
	// PaceProgress says the link really runs at Timing.Baud (a UART): only then are progress
	// chunks paced. Other links (RTT, TCP) set their own rate.
	PaceProgress bool
}

// ProgressChunk is how many bytes of a command go to the link per write when Config.Progress
// is set: a 2 KB %CMNG at 9600 bit/s is reported about every 70 ms of wire time.
const ProgressChunk = 64

// Transfer is one progress report of a command: Done of Total bytes in direction Dir. For
// Received, Total is the longest answer expected until the answer is complete, when one last
// report has Done == Total == the bytes received.
type Transfer struct {
	Command string // the command's name (e.g. AT%CMNG), never its content
	Dir     Direction
	Done    int
	Total   int
}

// Cmd is one command to run.
type Cmd struct {
	// Text is the AT command without terminator, e.g. `AT%CMNG=1`.
	Text string
	// Reply is how many bytes the answer may have, for the deadline (e.g. a read-back).
	Reply int
	// Writes marks commands that write the modem's NVM (%CMNG write/delete, %KEYGEN).
	Writes bool
	// Timeout overrides the computed deadline when > 0.
	Timeout time.Duration
	// Secret marks a command whose quoted content is a secret (a private key, a PSK): traces
	// and errors show it as its SHA-256 instead.
	Secret bool
	// Redacted is how the command is shown in errors and traces when Secret is set; nrfprov's
	// credential layer fills it with the hash of the content.
	Redacted string
}

func (c Cmd) shown() string {
	if c.Secret {
		if c.Redacted != "" {
			return c.Redacted
		}
		return CommandName(c.Text) + "=<secret>"
	}
	if len(c.Text) > 80 {
		return c.Text[:60] + fmt.Sprintf("…(%d bytes)", len(c.Text))
	}
	return c.Text
}

// Response is the answer to a successful command.
type Response struct {
	Lines []string // information lines, without the final OK
}

// Session runs AT commands over a byte stream, one at a time. One goroutine reads the stream;
// closing the stream (its owner's job) ends it.
type Session struct {
	w   io.Writer
	cfg Config

	rx   chan []byte
	done chan struct{} // closed when the reader stops
	rerr error         // why the reader stopped; read after done is closed

	mu    sync.Mutex // guards urcs (Notifications may be called from anywhere)
	urcs  []string
	split Splitter

	// secret is set while a secret command is in flight, and after it until a later command
	// gets its final result: what comes back (a shell echoes the command, key included, and
	// the echo of a command that timed out may come late) is traced as a byte count only.
	secret atomic.Bool

	// stale counts commands that timed out and may still be answered. Before the next command
	// is sent, their late final results are waited for (up to the modem's latency) and taken,
	// so that a late answer is never read as another command's (and the next command is not
	// sent into an AT host that is still busy).
	stale int
}

// NewSession starts reading rw. The caller keeps ownership of rw and closes it when done, which
// stops the session's reader.
func NewSession(rw io.ReadWriter, cfg Config) *Session {
	cfg.Timing = cfg.Timing.withDefaults()
	s := &Session{w: rw, cfg: cfg, rx: make(chan []byte, 64), done: make(chan struct{})}
	go s.read(rw)
	return s
}

func (s *Session) read(r io.Reader) {
	defer close(s.done)
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			if s.cfg.Trace != nil {
				if s.secret.Load() {
					s.cfg.Trace(time.Now(), Received, fmt.Appendf(nil, "<%d bytes during a secret command, not shown>", len(data)))
				} else {
					s.cfg.Trace(time.Now(), Received, data)
				}
			}
			s.rx <- data
		}
		if err != nil {
			s.rerr = err
			return
		}
	}
}

// Config returns the session's settings.
func (s *Session) Config() Config { return s.cfg }

// SetTerminator and SetDialect change how later commands are sent (after detection).
func (s *Session) SetTerminator(t Terminator) { s.cfg.Terminator = t }
func (s *Session) SetDialect(d Dialect)       { s.cfg.Dialect = d }

// Notifications returns and forgets the unsolicited notifications received so far.
func (s *Session) Notifications() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.urcs
	s.urcs = nil
	return u
}

func (s *Session) addURC(line string) {
	s.mu.Lock()
	s.urcs = append(s.urcs, line)
	s.mu.Unlock()
}

// wire is what goes on the link for cmd.
func (s *Session) wire(text string) (string, error) {
	if s.cfg.Dialect == Shell {
		if strings.ContainsAny(text, "\r") && !strings.Contains(text, "\r\n") {
			return "", fmt.Errorf("%w: a lone CR would end the shell line", ErrBadCommand)
		}
		return ShellLine(text) + s.cfg.Terminator.Bytes(), nil
	}
	return text + s.cfg.Terminator.Bytes(), nil
}

// Exec sends one command and waits for its final result, until the command's deadline or ctx
// ends. Device refusals come back as *ErrorResult, *CMEError or *CMSError; no answer in time as
// *TimeoutError; a vanished stream as ErrClosed.
func (s *Session) Exec(ctx context.Context, c Cmd) (*Response, error) {
	wire, err := s.wire(c.Text)
	if err != nil {
		return nil, err
	}
	if err := s.awaitStale(ctx); err != nil {
		return nil, fmt.Errorf("at: %s: %w", c.shown(), err)
	}
	s.drainIdle()
	timeout := c.Timeout
	if timeout <= 0 {
		reply := c.Reply
		if s.cfg.Dialect == Shell {
			reply += len(wire) // the shell echoes the whole line before the answer
		}
		timeout = s.cfg.Timing.Deadline(len(wire), reply, c.Writes)
	}
	if c.Secret {
		s.secret.Store(true)
	}
	if s.cfg.Trace != nil {
		shown := wire
		if c.Secret {
			shown = c.shown() + s.cfg.Terminator.Bytes()
		}
		s.cfg.Trace(time.Now(), Sent, []byte(shown))
	}
	start := time.Now()
	if err := s.send(ctx, CommandName(c.Text), wire); err != nil {
		return nil, fmt.Errorf("at: %s: write: %w", c.shown(), err)
	}
	resp, err := s.collect(ctx, c, strings.TrimRight(wire, "\r\n"), start, timeout)
	if answered(err) {
		// A final result came: the device sends in order, so the echo of any earlier secret
		// command is behind us.
		s.secret.Store(false)
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		s.stale++
	}
	if err != nil && c.Secret {
		err = scrub(err)
	}
	return resp, err
}

// answered reports whether a command's outcome is a final result from the device.
func answered(err error) bool {
	var er *ErrorResult
	var cme *CMEError
	var cms *CMSError
	return err == nil || errors.As(err, &er) || errors.As(err, &cme) || errors.As(err, &cms)
}

// send writes wire to the link; with Config.Progress set, in chunks (paced at the line's speed
// when Config.PaceProgress says the line has one), with a report after each. A command once
// begun goes out whole: cancelling ctx ends the pacing, not the command (half a command would
// leave the AT host inside its quotes, swallowing whatever comes next); the caller sees the
// cancellation while it waits for the answer.
func (s *Session) send(ctx context.Context, name, wire string) error {
	if s.cfg.Progress == nil {
		_, err := io.WriteString(s.w, wire)
		return err
	}
	start := time.Now()
	var pace *time.Timer
	hurry := false
	for done := 0; done < len(wire); {
		if wait := time.Until(start.Add(s.cfg.Timing.WireTime(done))); s.cfg.PaceProgress && done > 0 && wait > 0 && !hurry {
			if pace == nil {
				pace = time.NewTimer(wait)
				defer pace.Stop()
			} else {
				pace.Reset(wait)
			}
			select {
			case <-pace.C:
			case <-ctx.Done():
				hurry = true
			}
		}
		n := min(len(wire)-done, ProgressChunk)
		if _, err := io.WriteString(s.w, wire[done:done+n]); err != nil {
			return err
		}
		done += n
		s.cfg.Progress(Transfer{Command: name, Dir: Sent, Done: done, Total: len(wire)})
	}
	return nil
}

// scrub keeps only how much came back for a secret command: a shell's echo holds the secret.
func scrub(err error) error {
	var te *TimeoutError
	if errors.As(err, &te) {
		c := *te
		c.Lines = make([]string, len(te.Lines))
		for i, l := range te.Lines {
			c.Lines[i] = strings.Repeat("*", len(l))
		}
		c.Partial = strings.Repeat("*", len(te.Partial))
		return &c
	}
	var er *ErrorResult
	if errors.As(err, &er) {
		return &ErrorResult{Cmd: er.Cmd}
	}
	return err
}

// collect reads the answer to c (sent at start) until its final result or the deadline.
func (s *Session) collect(ctx context.Context, c Cmd, echo string, start time.Time, timeout time.Duration) (*Response, error) {
	name := CommandName(c.Text)
	var lines []string
	seenContent := false
	// handle takes received bytes; it returns true with the outcome once the final result came.
	handle := func(data []byte) (bool, *Response, error) {
		for _, line := range s.split.Feed(data) {
			switch {
			case !seenContent && echo != "" && isEcho(line, echo):
				// the device or the shell echoed the command
			case IsURC(line, name):
				s.addURC(line)
			case isPrompt(line):
			default:
				// A shell prompt printed late (after a reset) can sit in front of an answer
				// on the same line: "mosh:~$ OK".
				if f, ok := ParseFinal(stripPrompts(line)); ok {
					resp, err := s.finish(c, lines, f)
					return true, resp, err
				}
				seenContent = true
				lines = append(lines, line)
			}
		}
		return false, nil, nil
	}
	received := 0
	report := func(n int) {
		if s.cfg.Progress != nil && c.Reply > 0 {
			received += n
			s.cfg.Progress(Transfer{Command: name, Dir: Received, Done: received, Total: c.Reply})
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case data := <-s.rx:
			report(len(data))
			if done, resp, err := handle(data); done {
				if s.cfg.Progress != nil && c.Reply > 0 {
					// The answer is complete: its size is the total now.
					s.cfg.Progress(Transfer{Command: name, Dir: Received, Done: received, Total: received})
				}
				return resp, err
			}
		case <-timer.C:
			partial, inQuote := s.split.Partial()
			return nil, &TimeoutError{Cmd: c.shown(), After: time.Since(start), Lines: lines, Partial: partial, InQuote: inQuote}
		case <-ctx.Done():
			return nil, fmt.Errorf("at: %s: %w", c.shown(), ctx.Err())
		case <-s.done:
			// The reader stopped; what it delivered before stopping still counts.
			for {
				select {
				case data := <-s.rx:
					if done, resp, err := handle(data); done {
						return resp, err
					}
					continue
				default:
				}
				break
			}
			return nil, fmt.Errorf("at: %s: %w: %v", c.shown(), ErrClosed, s.rerr)
		}
	}
}

func (s *Session) finish(c Cmd, lines []string, f Final) (*Response, error) {
	switch f.Kind {
	case FinalOK:
		return &Response{Lines: lines}, nil
	case FinalCME:
		return nil, &CMEError{Cmd: c.shown(), Code: f.Code}
	case FinalCMS:
		return nil, &CMSError{Cmd: c.shown(), Code: f.Code}
	}
	return nil, &ErrorResult{Cmd: c.shown(), Lines: lines}
}

// isEcho: the line is the command echoed, maybe after a shell prompt.
func isEcho(line, echo string) bool {
	return line == echo || strings.HasSuffix(line, echo)
}

// isPrompt: a shell prompt with nothing after it ("mosh:~$ ", "uart:~$ ").
func isPrompt(line string) bool {
	s := strings.TrimSpace(line)
	return strings.HasSuffix(s, ":~$") || strings.HasSuffix(s, ":~#")
}

// stripPrompts removes the shell prompts ("mosh:~$ ", "uart:~# ") at the start of a line.
func stripPrompts(line string) string {
	for {
		i := strings.Index(line, ":~")
		if i < 0 || i+4 > len(line) || (line[i+2] != '$' && line[i+2] != '#') || line[i+3] != ' ' || strings.ContainsAny(line[:i], " \t\"") {
			return line
		}
		line = strings.TrimLeft(line[i+3:], " ")
	}
}

// feedIdle takes bytes that belong to no command: notifications are kept, the rest dropped.
func (s *Session) feedIdle(data []byte) {
	for _, line := range s.split.Feed(data) {
		if IsURC(line, "") {
			s.addURC(line)
		} else if _, final := ParseFinal(line); final && s.stale > 0 {
			s.stale-- // the late answer of a command that timed out
		}
	}
}

// awaitStale takes the late final results of commands that timed out, waiting for them up to
// the modem's latency. What has not come by then is taken as never coming (a command the AT host
// dropped, a hung modem): the count starts again from zero.
func (s *Session) awaitStale(ctx context.Context) error {
	if s.stale == 0 {
		return nil
	}
	timer := time.NewTimer(s.cfg.Timing.Latency)
	defer timer.Stop()
	for s.stale > 0 {
		select {
		case data := <-s.rx:
			s.feedIdle(data)
		case <-timer.C:
			s.stale = 0
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			s.stale = 0 // collect reports the closed stream
		}
	}
	return nil
}

// drainIdle takes what arrived between commands: notifications are kept, anything else (a late
// answer, boot chatter) is dropped, and a partial line is forgotten.
func (s *Session) drainIdle() {
	for {
		select {
		case data := <-s.rx:
			s.feedIdle(data)
		default:
			if _, inQuote := s.split.Partial(); !inQuote {
				// Keep a prompt without line break: the next echo follows it on the same line.
				return
			}
			s.split.Reset()
			return
		}
	}
}

// WaitFor reads until a line containing one of want arrives (a boot banner, "Ready"), and
// returns that line. Notifications are kept; other lines are skipped.
func (s *Session) WaitFor(ctx context.Context, timeout time.Duration, want ...string) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case data := <-s.rx:
			for _, line := range s.split.Feed(data) {
				for _, w := range want {
					if strings.Contains(line, w) {
						if w == BannerReady {
							s.stale = 0 // a board that booted answers nothing from before
						}
						return line, nil
					}
				}
				if IsURC(line, "") {
					s.addURC(line)
				}
			}
		case <-timer.C:
			return "", &TimeoutError{Cmd: "waiting for " + strings.Join(want, " or "), After: timeout}
		case <-ctx.Done():
			return "", fmt.Errorf("at: waiting for %s: %w", strings.Join(want, " or "), ctx.Err())
		case <-s.done:
			return "", fmt.Errorf("at: waiting for %s: %w: %v", strings.Join(want, " or "), ErrClosed, s.rerr)
		}
	}
}

// Settle discards what the device sends until the line has been quiet for quiet, or until max
// has passed: stale answers and boot chatter from before this session must not be taken for
// answers to its first commands. Notifications among them are kept.
func (s *Session) Settle(ctx context.Context, quiet, max time.Duration) error {
	end := time.NewTimer(max)
	defer end.Stop()
	q := time.NewTimer(quiet)
	defer q.Stop()
	for {
		select {
		case data := <-s.rx:
			s.feedIdle(data)
			if !q.Stop() {
				<-q.C
			}
			q.Reset(quiet)
		case <-q.C:
			s.split.Reset()
			return nil
		case <-end.C:
			s.split.Reset()
			return nil
		case <-ctx.Done():
			return fmt.Errorf("at: settle: %w", ctx.Err())
		case <-s.done:
			return fmt.Errorf("at: settle: %w: %v", ErrClosed, s.rerr)
		}
	}
}

// SendRaw writes bytes as they are (a bare terminator to flush a line, DELs).
func (s *Session) SendRaw(p string) error {
	if s.cfg.Trace != nil {
		s.cfg.Trace(time.Now(), Sent, []byte(p))
	}
	_, err := io.WriteString(s.w, p)
	if err != nil {
		return fmt.Errorf("at: write: %w", err)
	}
	return nil
}
