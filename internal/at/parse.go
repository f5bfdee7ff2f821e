// Package at runs AT command sessions with an nRF91 board over any byte stream: one command at
// a time, each with a deadline, final results and errors typed, notifications kept apart.
//
// It knows nothing of serial ports or RTT. The parsers in this file are pure functions over
// strings and bytes; Session (session.go) drives them over an io.ReadWriter.
package at

import (
	"strconv"
	"strings"
)

// FinalKind is the kind of a final result code.
type FinalKind int

// Final result codes (3GPP TS 27.007 / V.250 as the nRF91 modem uses them).
const (
	FinalOK FinalKind = iota + 1
	FinalError
	FinalCME
	FinalCMS
)

// Final is a parsed final result line.
type Final struct {
	Kind FinalKind
	Code int // for FinalCME and FinalCMS
}

// ParseFinal recognises a final result line: "OK", "ERROR", "+CME ERROR: <n>" or
// "+CMS ERROR: <n>" (spaces tolerated). Anything else is not final.
func ParseFinal(line string) (Final, bool) {
	s := strings.TrimSpace(line)
	switch s {
	case "OK":
		return Final{Kind: FinalOK}, true
	case "ERROR":
		return Final{Kind: FinalError}, true
	}
	for _, p := range []struct {
		prefix string
		kind   FinalKind
	}{{"+CME ERROR:", FinalCME}, {"+CMS ERROR:", FinalCMS}} {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil {
				return Final{}, false
			}
			return Final{Kind: p.kind, Code: n}, true
		}
	}
	return Final{}, false
}

// CommandName is the name of an extended command, upper-cased: "AT%CMNG=1" -> "%CMNG",
// "at+cgsn" -> "+CGSN", "AT" -> "".
func CommandName(cmd string) string {
	s := strings.TrimSpace(cmd)
	if len(s) < 2 || !strings.EqualFold(s[:2], "AT") {
		return ""
	}
	s = s[2:]
	if i := strings.IndexAny(s, "=?"); i >= 0 {
		s = s[:i]
	}
	return strings.ToUpper(strings.TrimSpace(s))
}

// knownURCs are the notifications an nRF91 sends on its own (network registration, signal,
// SIM, modem events, power warnings).
var knownURCs = []string{
	"+CEREG:", "+CGEV:", "+CSCON:", "+CIREGU:", "+CNEC_", "+CMT:", "+CDS:",
	"%CESQ:", "%XSIM:", "%MDMEV:", "%XPOFWARN:", "%XMODEMSLEEP:", "%NCELLMEAS:",
	"%XTIME:", "%XT3412:", "%CONEVAL:", "%XBATTEMP:", "%XVBATLOWLVL:", "%XVBATLVL:",
	"#XNOTIF:",
}

// IsURC reports whether line is an unsolicited notification rather than part of the response
// to the command named cmdName (as CommandName gives it): a line with a known notification
// prefix, unless it is the prefix of the command itself (AT+CEREG? answers "+CEREG: ...").
func IsURC(line, cmdName string) bool {
	s := strings.TrimSpace(line)
	for _, p := range knownURCs {
		if strings.HasPrefix(s, p) {
			return cmdName == "" || !strings.HasPrefix(p, cmdName)
		}
	}
	return false
}

// Splitter cuts a received byte stream into lines. CR, LF and CR LF all end a line outside
// double quotes; inside quotes they are data (a %CMNG read-back carries a PEM with its line
// breaks inside quotes). Empty lines are skipped.
type Splitter struct {
	line    []byte
	inQuote bool
}

// Feed adds received bytes and returns the lines they complete.
func (s *Splitter) Feed(p []byte) []string {
	var out []string
	for _, c := range p {
		if !s.inQuote && (c == '\r' || c == '\n') {
			if len(s.line) > 0 {
				out = append(out, string(s.line))
				s.line = s.line[:0]
			}
			continue
		}
		if c == '"' {
			s.inQuote = !s.inQuote
		}
		s.line = append(s.line, c)
	}
	return out
}

// Partial returns the bytes of the line not completed yet, and whether it is inside quotes.
func (s *Splitter) Partial() (string, bool) { return string(s.line), s.inQuote }

// Reset forgets a partial line (after a resync or a reset of the board).
func (s *Splitter) Reset() {
	s.line = s.line[:0]
	s.inQuote = false
}

// Terminator is what ends a command on the wire.
type Terminator int

// The terminators at_host can be built with; CR is at_client's default.
const (
	TermCR Terminator = iota
	TermLF
	TermCRLF
	// TermNUL: at_host built with CONFIG_NULL_TERMINATION sends a line at a NUL byte and stores
	// CR and LF like any other character.
	TermNUL
)

// Bytes returns the terminator's bytes.
func (t Terminator) Bytes() string {
	switch t {
	case TermLF:
		return "\n"
	case TermCRLF:
		return "\r\n"
	case TermNUL:
		return "\x00"
	}
	return "\r"
}

func (t Terminator) String() string {
	switch t {
	case TermLF:
		return "lf"
	case TermCRLF:
		return "crlf"
	case TermNUL:
		return "nul"
	}
	return "cr"
}

// ParseTerminator reads "cr", "lf", "crlf" or "nul" (also "null").
func ParseTerminator(s string) (Terminator, bool) {
	switch strings.ToLower(s) {
	case "cr":
		return TermCR, true
	case "lf":
		return TermLF, true
	case "crlf":
		return TermCRLF, true
	case "nul", "null":
		return TermNUL, true
	}
	return 0, false
}

// Dialect is how commands are wrapped on the wire.
type Dialect int

const (
	// Raw sends AT commands as they are (at_client, serial_lte_modem, MoSh's AT mode).
	Raw Dialect = iota
	// Shell sends them as the argument of the Zephyr shell's `at` command (modem_shell,
	// lib/at_shell), which echoes the line and prints a prompt.
	Shell
)

func (d Dialect) String() string {
	if d == Shell {
		return "shell"
	}
	return "raw"
}

// ParseDialect reads "raw" or "shell".
func ParseDialect(s string) (Dialect, bool) {
	switch strings.ToLower(s) {
	case "raw", "at":
		return Raw, true
	case "shell":
		return Shell, true
	}
	return 0, false
}

// ShellLine wraps an AT command for the Zephyr shell: `at '<cmd>'`, with the single quotes that
// group it into one argument. Inside single quotes the shell only knows \' as an escape, so a
// quote in the command becomes \'. Line breaks cannot be sent raw (they end the shell line):
// each CR LF or LF becomes the two characters \n, which lib/at_shell turns back into CR LF for
// AT%CMNG=0 commands (CONFIG_AT_SHELL_UNESCAPE_LF). The content the modem stores therefore has
// CR LF line breaks; callers hash that, not the original.
func ShellLine(cmd string) string {
	cmd = strings.ReplaceAll(cmd, "\r\n", "\n")
	cmd = strings.ReplaceAll(cmd, "\n", `\n`)
	cmd = strings.ReplaceAll(cmd, `'`, `\'`)
	return "at '" + cmd + "'"
}

// ShellStored is what the modem stores when content goes through ShellLine: CR LF line breaks.
func ShellStored(content string) string {
	content = strings.ReplaceAll(content, "\r\n", "\n")
	return strings.ReplaceAll(content, "\n", "\r\n")
}
