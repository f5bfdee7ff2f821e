package at

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Boot lines of the AT host firmwares (modem-cmng-athost.md §2.6, §3.1).
const (
	BannerATClient = "The AT host sample started"
	BannerReady    = "Ready"
)

// settleQuiet is how long the line must stay quiet before a session starts talking, unless
// Config.Quiet says otherwise.
const settleQuiet = 20 * time.Millisecond

func (s *Session) quiet() time.Duration {
	if s.cfg.Quiet > 0 {
		return s.cfg.Quiet
	}
	return settleQuiet
}

// SyncOptions tunes Sync.
type SyncOptions struct {
	// ExpectBoot waits for "Ready" (after a reset or a flash) before talking: new at_client
	// firmware answers nothing useful between its banner and "Ready".
	ExpectBoot bool
	// BootTimeout bounds the wait for "Ready" (default 10 s).
	BootTimeout time.Duration
	// Attempts is how many times AT is tried (default 5); Probe is each try's deadline
	// (default 1 s).
	Attempts int
	Probe    time.Duration
	// NoSettle skips waiting for the line to go quiet first (it just did, e.g. in Detect).
	NoSettle bool
}

// Sync brings the link to a known state (§7.2 step 2): optionally wait for "Ready", send a bare
// terminator to end any half line (its answer, often ERROR from power-on junk, is discarded),
// then AT until OK.
func (s *Session) Sync(ctx context.Context, o SyncOptions) error {
	if o.BootTimeout <= 0 {
		o.BootTimeout = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Probe <= 0 {
		o.Probe = time.Second
	}
	if o.ExpectBoot {
		if _, err := s.WaitFor(ctx, o.BootTimeout, BannerReady); err != nil {
			return fmt.Errorf("at: sync: waiting for the board to boot: %w", err)
		}
	}
	if !o.NoSettle {
		if err := s.Settle(ctx, s.quiet(), 2*o.Probe); err != nil {
			return fmt.Errorf("at: sync: %w", err)
		}
	}
	if s.cfg.Dialect == Raw {
		if err := s.SendRaw(s.cfg.Terminator.Bytes()); err != nil {
			return err
		}
	}
	var last error
	for i := 0; i < o.Attempts; i++ {
		_, err := s.Exec(ctx, Cmd{Text: "AT", Timeout: o.Probe})
		if err == nil {
			return nil
		}
		last = err
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return fmt.Errorf("at: sync: %w", err)
		}
	}
	return fmt.Errorf("at: sync: %w: %d tries of AT, last: %v", ErrNoATHost, o.Attempts, last)
}

// bootRetries is how many more times Detect asks a board that answered its first probe with
// other output (a board still booting prints "Ready" after it has dropped the probe).
const bootRetries = 2

// Detected is what Detect found out about the device's AT host.
type Detected struct {
	Dialect    Dialect
	Terminator Terminator
}

// Detect finds the dialect and the line terminator the way Cellular Monitor does (§7.2 step 2):
// `at AT` with CR LF answers OK from a shell and ERROR from a raw AT host; then AT with CR
// answers at once in CR mode, and otherwise an LF completes it (CRLF or LF mode), which AT with
// only LF tells apart; a host that answers nothing to `at AT` and CR LF is tried with a NUL
// (NUL termination). probe is each try's deadline (default 1 s). The session is left set to
// what was found.
func (s *Session) Detect(ctx context.Context, probe time.Duration) (Detected, error) {
	if probe <= 0 {
		probe = time.Second
	}
	if err := s.Settle(ctx, s.quiet(), 2*probe); err != nil {
		return Detected{}, fmt.Errorf("at: detect: %w", err)
	}
	s.SetDialect(Raw)
	s.SetTerminator(TermCRLF)
	var err error
	for try := 0; ; try++ {
		_, err = s.Exec(ctx, Cmd{Text: "at AT", Timeout: probe})
		// A board still booting prints its "Ready" (or more boot output) instead of an
		// answer: it is alive, so ask again once it is quiet. Silence ends the detection.
		var te *TimeoutError
		if try < bootRetries && errors.As(err, &te) && (len(te.Lines) > 0 || te.Partial != "") {
			if err := s.Settle(ctx, s.quiet(), 2*probe); err != nil {
				return Detected{}, fmt.Errorf("at: detect: %w", err)
			}
			s.stale = 0 // the booting board dropped the probe: no answer will come
			continue
		}
		break
	}
	switch {
	case err == nil:
		s.SetDialect(Shell)
		return Detected{Dialect: Shell, Terminator: TermCRLF}, nil
	case errors.Is(err, ErrClosed) || ctx.Err() != nil:
		return Detected{}, fmt.Errorf("at: detect: %w", err)
	case errors.Is(err, ErrTimeout):
		// Every AT host with a CR, LF or CR LF terminator answers `at AT` somehow (a shell OK,
		// a raw host ERROR); one built with NUL termination has stored the CR LF and sends the
		// line at a NUL (which the others ignore outside quotes).
		if s.completeAnswered(ctx, "\x00", probe) {
			return s.confirm(ctx, probe, TermNUL)
		}
		// Silence: no AT host is there, or one is stuck inside quotes.
		return Detected{}, fmt.Errorf("at: detect: %w: nothing answered `at AT` within %v (no AT host on this link, or one stuck inside an open quote until the board is reset)", ErrNoATHost, probe)
	}
	answered := func(err error) bool {
		var er *ErrorResult
		var ce *CMEError
		return err == nil || errors.As(err, &er) || errors.As(err, &ce)
	}
	s.SetTerminator(TermCR)
	if _, err := s.Exec(ctx, Cmd{Text: "AT", Timeout: probe}); err == nil {
		return Detected{Dialect: Raw, Terminator: TermCR}, nil // a clean OK confirms itself
	} else if answered(err) {
		return s.confirm(ctx, probe, TermCR)
	}
	// No answer to CR: the line waits for an LF, which completes it in LF and CRLF mode alike.
	if err := s.complete(ctx, "\n", probe); err != nil {
		return Detected{}, err
	}
	s.SetTerminator(TermLF)
	if _, err := s.Exec(ctx, Cmd{Text: "AT", Timeout: probe}); err == nil {
		return Detected{Dialect: Raw, Terminator: TermLF}, nil
	} else if answered(err) {
		return s.confirm(ctx, probe, TermLF)
	}
	// CR LF completes the AT sent with LF alone.
	if err := s.complete(ctx, "\r\n", probe); err != nil {
		return Detected{}, err
	}
	return s.confirm(ctx, probe, TermCRLF)
}

// complete sends the bytes that end a probe left waiting for its terminator, and takes (and
// drops) the answer they cause, so it is not taken for the answer to the next probe.
func (s *Session) complete(ctx context.Context, end string, probe time.Duration) error {
	if err := s.SendRaw(end); err != nil {
		return err
	}
	s.stale = 0 // the probe that timed out is the one completed here: its answer is taken now
	s.collect(ctx, Cmd{Text: "AT"}, "", time.Now(), probe)
	return nil
}

// completeAnswered sends the bytes that may end a probe left waiting for its terminator and
// reports whether a final result came back.
func (s *Session) completeAnswered(ctx context.Context, end string, probe time.Duration) bool {
	if err := s.SendRaw(end); err != nil {
		return false
	}
	s.stale = 0 // the probe that timed out is the one completed here
	_, err := s.collect(ctx, Cmd{Text: "AT"}, "", time.Now(), probe)
	return answered(err)
}

// confirm checks the terminator with a clean AT.
func (s *Session) confirm(ctx context.Context, probe time.Duration, t Terminator) (Detected, error) {
	s.SetTerminator(t)
	s.drainIdle()
	var last error
	for i := 0; i < 3; i++ {
		if _, last = s.Exec(ctx, Cmd{Text: "AT", Timeout: probe}); last == nil {
			return Detected{Dialect: Raw, Terminator: t}, nil
		}
	}
	return Detected{}, fmt.Errorf("at: detect: %w (AT with %s: %v)", ErrNoATHost, t, last)
}
