package at

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrorResult is a plain "ERROR" final result: the device refused the command without saying
// why (with +CMEE=0, or for a command it does not know).
type ErrorResult struct {
	Cmd   string   // the command as it may be shown (secrets replaced)
	Lines []string // information lines that came before the final result
}

func (e *ErrorResult) Error() string { return fmt.Sprintf("at: %s: ERROR", e.Cmd) }

// CMEError is a "+CME ERROR: <n>" final result.
type CMEError struct {
	Cmd  string
	Code int
}

func (e *CMEError) Error() string { return fmt.Sprintf("at: %s: +CME ERROR: %d", e.Cmd, e.Code) }

// CMSError is a "+CMS ERROR: <n>" final result.
type CMSError struct {
	Cmd  string
	Code int
}

func (e *CMSError) Error() string { return fmt.Sprintf("at: %s: +CMS ERROR: %d", e.Cmd, e.Code) }

// ErrTimeout matches every *TimeoutError.
var ErrTimeout = errors.New("at: no final result before the deadline")

// TimeoutError says a command got no final result before its deadline. It is neither a device
// error nor a transport error: the device may be stuck (an AT host inside quotes), too slow, or
// gone. What did arrive is kept, so a caller can tell a truncated read-back from silence.
type TimeoutError struct {
	Cmd     string
	After   time.Duration
	Lines   []string // complete lines received for this command
	Partial string   // an unfinished line
	InQuote bool     // the unfinished line is inside double quotes
}

func (e *TimeoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "at: %s: no final result within %v", e.Cmd, e.After.Round(time.Millisecond))
	switch {
	case e.Partial != "" || len(e.Lines) > 0:
		fmt.Fprintf(&b, " (%d lines and %d bytes of an unfinished line arrived)", len(e.Lines), len(e.Partial))
	default:
		b.WriteString(" (nothing arrived)")
	}
	return b.String()
}

// Is makes every TimeoutError match ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// ErrClosed says the session's stream ended (the port went away or was closed).
var ErrClosed = errors.New("at: stream closed")

// ErrNoATHost says nothing on the link answers AT commands (an application without an AT host,
// a wrong port, a board that is not running).
var ErrNoATHost = errors.New("at: no AT host answers on this link")

// ErrBadCommand says a command cannot be sent as it is (a line break, or a terminator byte where
// the device would cut the line).
var ErrBadCommand = errors.New("at: command cannot be sent")
