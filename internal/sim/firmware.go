package sim

import (
	"bytes"
	"fmt"
	"strings"
)

// Personality is the application firmware running on the nRF91's application core.
type Personality string

// The personalities the model knows (modem-cmng-athost.md §2–§3).
const (
	// ATClient is samples/cellular/at_client: lib/at_host on UART0, raw AT, no echo.
	ATClient Personality = "at_client"
	// ModemShell is Modem Shell (MoSh): a Zephyr shell with the `at <cmd>` command and a raw
	// AT command mode.
	ModemShell Personality = "modem_shell"
	// SerialLTEModem is the Serial LTE Modem application: raw AT with V.250 framing.
	SerialLTEModem Personality = "serial_lte_modem"
	// Application is a customer application with no AT host at all.
	Application Personality = "application"
)

// Personalities lists every personality.
func Personalities() []Personality {
	return []Personality{ATClient, ModemShell, SerialLTEModem, Application}
}

// ParsePersonality reads a personality name.
func ParsePersonality(s string) (Personality, error) {
	for _, p := range Personalities() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("sim: unknown personality %q (want at_client, modem_shell, serial_lte_modem or application)", s)
}

// Boot output. The Zephyr console turns "\n" into "\r\n" (§2.6).
const (
	ncsBanner       = "*** Booting nRF Connect SDK v2.9.0-nrfsim ***\r\n*** Using Zephyr OS v3.7.99-nrfsim ***\r\n"
	atClientStarted = "The AT host sample started\r\n"
	atClientReady   = "Ready\r\n"
	moshPrompt      = "mosh:~$ "
	appStarted      = "[00:00:00.251,000] <inf> app: Application started, no AT host on this UART\r\n"
)

// busyPolicy says what happens to bytes that arrive while the device executes a command.
type busyPolicy int

const (
	// busyDrop: receive interrupts are off until the response is written; the UARTE keeps a
	// few bytes in its FIFO and the rest are lost (at_host, §2.3), unless flow control holds
	// the sender.
	busyDrop busyPolicy = iota
	// busyHold: the firmware buffers input (SLM, the shell), so nothing is lost.
	busyHold
)

// step is what the firmware does with a completed line.
type step struct {
	modem [][]byte // commands for the modem, run one after the other; nil for none
	out   []byte   // output written without involving the modem
	// notReady: the modem library refused the command before it was initialised, and out is
	// the AT host's buffer written back (Stats.CommandsBeforeReady).
	notReady bool
}

func one(cmd []byte) step { return step{modem: [][]byte{cmd}} }

// firmware is one personality's behaviour on the UART: how it receives, what it prints at
// boot, how it frames the modem's answers.
type firmware interface {
	personality() Personality
	// rx returns the current receive machine, or nil when the firmware ignores input.
	rx() lineRX
	// boot returns what is printed at once and what is printed when the firmware is ready
	// (after the board's ready delay).
	boot() (banner, ready []byte)
	// line handles a completed line. ready reports whether the firmware finished booting.
	line(l []byte, ready bool) step
	// frame turns the modem's answer into UART output; limit is the response buffer size.
	frame(res modemResult, limit int) []byte
	// urc frames an unsolicited notification line.
	urc(text string) []byte
	// control handles bytes that bypass the line machine (MoSh's Ctrl-X Ctrl-Q); it returns
	// true and output when it consumed the byte.
	control(c byte) (bool, []byte)
	busy() busyPolicy
}

func newFirmware(p Personality, term Termination, termSet bool, lineLimit int) firmware {
	switch p {
	case ModemShell:
		return &moshFW{limit: lineLimit}
	case SerialLTEModem:
		if !termSet {
			term = TermCRLF
		}
		return &slmFW{r: &slmRX{term: term, limit: lineLimit}}
	case Application:
		return appFW{}
	}
	return &atClientFW{r: &atHostRX{term: term, limit: lineLimit}}
}

// truncate cuts a response to the AT host's buffer: nrf_modem_at_cmd fails with -NRF_E2BIG and
// at_host still writes what its buffer holds, so the final result code never arrives (§2.5).
func truncate(out []byte, limit int) []byte {
	if limit > 0 && len(out) > limit {
		return out[:limit]
	}
	return out
}

// atClientFW is samples/cellular/at_client.
type atClientFW struct{ r *atHostRX }

func (f *atClientFW) personality() Personality { return ATClient }
func (f *atClientFW) rx() lineRX               { return f.r }
func (f *atClientFW) boot() ([]byte, []byte) {
	return []byte(ncsBanner + atClientStarted), []byte(atClientReady)
}
func (f *atClientFW) busy() busyPolicy            { return busyDrop }
func (f *atClientFW) control(byte) (bool, []byte) { return false, nil }

// line: before "Ready" the modem library is not initialised, nrf_modem_at_cmd fails with
// -NRF_EPERM, and at_host writes back its buffer, which still holds the command: the host sees
// its command with no result code (inferred, §2.6).
func (f *atClientFW) line(l []byte, ready bool) step {
	if !ready {
		return step{out: l, notReady: true}
	}
	return one(l)
}

func (f *atClientFW) urc(text string) []byte { return []byte(text + "\r\n") }

func (f *atClientFW) frame(res modemResult, limit int) []byte {
	return truncate(res.out, limit)
}

// slmFW is the Serial LTE Modem.
type slmFW struct{ r *slmRX }

func (f *slmFW) personality() Personality    { return SerialLTEModem }
func (f *slmFW) rx() lineRX                  { return f.r }
func (f *slmFW) boot() ([]byte, []byte)      { return nil, []byte("Ready\r\n") }
func (f *slmFW) busy() busyPolicy            { return busyHold }
func (f *slmFW) control(byte) (bool, []byte) { return false, nil }
func (f *slmFW) errorOut() []byte            { return []byte("\r\nERROR\r\n") }
func (f *slmFW) line(l []byte, ready bool) step {
	if string(l) == slmOverflowLine {
		return step{out: f.errorOut()}
	}
	// SLM ignores whatever precedes the first "AT" of a line (power-on noise).
	i := indexAT(l)
	if i < 0 {
		if len(bytes.TrimSpace(l)) == 0 {
			return step{}
		}
		return step{out: f.errorOut()}
	}
	l = l[i:]
	// Grammar check: AT, or AT followed by +, % or # and a letter.
	if len(l) > 2 {
		if !strings.ContainsRune("+%#", rune(l[2])) || len(l) < 4 || !isAlnum(l[3]) {
			return step{out: f.errorOut()}
		}
	}
	return one(l)
}

// indexAT finds the first "AT" in any letter case, byte by byte (the line may hold any bytes).
func indexAT(l []byte) int {
	for i := 0; i+1 < len(l); i++ {
		if l[i]|0x20 == 'a' && l[i+1]|0x20 == 't' {
			return i
		}
	}
	return -1
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// urc: SLM prefixes notifications with CR LF, V.250 style.
func (f *slmFW) urc(text string) []byte { return []byte("\r\n" + text + "\r\n") }

// frame: V.250 style, a CR LF before the response and another before the final result code.
func (f *slmFW) frame(res modemResult, limit int) []byte {
	out := truncate(res.out, limit)
	body, final := splitFinal(out)
	var b bytes.Buffer
	b.WriteString("\r\n")
	if len(body) > 0 {
		b.Write(body)
		if final != nil {
			b.WriteString("\r\n")
		}
	}
	b.Write(final)
	return b.Bytes()
}

// splitFinal separates a modem response into its information lines and its final result line.
// A truncated response has no final line.
func splitFinal(out []byte) (body, final []byte) {
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		return out, nil
	}
	i := bytes.LastIndex(out[:len(out)-2], []byte("\r\n"))
	last := out[i+2:]
	s := string(bytes.TrimRight(last, "\r\n"))
	if s == "OK" || s == "ERROR" || strings.HasPrefix(s, "+CME ERROR:") || strings.HasPrefix(s, "+CMS ERROR:") {
		return out[:i+2], last
	}
	return out, nil
}

// appFW is an application without an AT host: it prints its banner and ignores the UART.
type appFW struct{}

func (appFW) personality() Personality      { return Application }
func (appFW) rx() lineRX                    { return nil }
func (appFW) boot() ([]byte, []byte)        { return []byte(ncsBanner + appStarted), nil }
func (appFW) line([]byte, bool) step        { return step{} }
func (appFW) frame(modemResult, int) []byte { return nil }
func (appFW) control(byte) (bool, []byte)   { return false, nil }
func (appFW) urc(string) []byte             { return nil }
func (appFW) busy() busyPolicy              { return busyHold }

// moshFW is Modem Shell: a Zephyr shell whose `at` command passes one argument to the modem,
// plus the raw AT command mode started with `at at_cmd_mode start` (§3.2, §3.3).
type moshFW struct {
	limit  int // CONFIG_SHELL_CMD_BUFF_SIZE
	shell  shellRX
	atMode *atHostRX
	ctrlX  bool
}

func (f *moshFW) personality() Personality { return ModemShell }
func (f *moshFW) urc(text string) []byte   { return []byte(text + "\r\n") }
func (f *moshFW) busy() busyPolicy         { return busyHold }

func (f *moshFW) rx() lineRX {
	if f.atMode != nil {
		return f.atMode
	}
	f.shell.limit = f.limit - 1
	return &f.shell
}

func (f *moshFW) boot() ([]byte, []byte) {
	f.atMode = nil
	f.shell.reset()
	return []byte(ncsBanner + "\r\nMOSH version:       v2.9.0-nrfsim\r\nMOSH build id:      nrfsim\r\nMOSH build variant: normal\r\n\r\n"),
		[]byte(moshPrompt)
}

const moshATModeBanner = "MoSh AT command mode started, press ctrl-x ctrl-q to escape\r\n" +
	"MoSh specific AT commands:\r\n  ICMP Ping: AT+NPING=<addr>[,<payload_length>,<timeout_msecs>,<count>[,<interval_msecs>[,<cid>]]]\r\n" +
	"===========================================================\r\n"

// control implements the Ctrl-X Ctrl-Q escape from AT command mode.
func (f *moshFW) control(c byte) (bool, []byte) {
	if f.atMode == nil {
		return false, nil
	}
	if f.ctrlX && c == 0x11 {
		f.ctrlX = false
		f.atMode = nil
		f.shell.reset()
		return true, []byte("\r\nMoSh AT command mode exited\r\n" + moshPrompt)
	}
	f.ctrlX = c == 0x18
	return f.ctrlX, nil
}

func (f *moshFW) line(l []byte, ready bool) step {
	if f.atMode != nil {
		return f.atModeLine(l)
	}
	argv, err := shellArgv(string(l))
	if err != nil {
		return step{out: []byte(err.Error() + "\r\n" + moshPrompt)}
	}
	switch {
	case len(argv) == 0:
		return step{out: []byte(moshPrompt)}
	case argv[0] != "at":
		return step{out: []byte(argv[0] + ": command not found\r\n" + moshPrompt)}
	case len(argv) < 2:
		return step{out: []byte("Usage: at <AT command> | at_cmd_mode start\r\n" + moshPrompt)}
	case argv[1] == "at_cmd_mode" && len(argv) == 3 && argv[2] == "start":
		f.atMode = &atHostRX{term: TermCR, limit: f.limit - 1, echo: true, overflowMsg: true}
		return step{out: []byte(moshATModeBanner)}
	}
	cmd := argv[1]
	// CONFIG_AT_SHELL_UNESCAPE_LF: for AT%CMNG=0 the two characters \n become CR LF, so a PEM
	// typed on one shell line reaches the modem with real line breaks.
	if strings.HasPrefix(cmd, "AT%CMNG=0") {
		cmd = strings.ReplaceAll(cmd, `\n`, "\r\n")
	}
	return one([]byte(cmd))
}

// MoSh's AT command mode runs up to 10 commands separated by '|' (outside quotes), each at most
// 1023 characters; more, or longer ones, answer ERROR.
const (
	moshPipeMax    = 10
	moshPipeCmdMax = 1023
)

func (f *moshFW) atModeLine(l []byte) step {
	var cmds [][]byte
	start, inQuote := 0, false
	for i, c := range l {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '|' && !inQuote:
			cmds = append(cmds, l[start:i])
			start = i + 1
		}
	}
	cmds = append(cmds, l[start:])
	if len(cmds) == 1 {
		return one(l)
	}
	if len(cmds) > moshPipeMax {
		return step{out: []byte("ERROR\r\n")}
	}
	for _, c := range cmds {
		if len(c) > moshPipeCmdMax {
			return step{out: []byte("ERROR\r\n")}
		}
	}
	return step{modem: cmds}
}

// frame prints the modem's answer with shell_print (one more line break) and the prompt; in AT
// command mode the answer goes out as it is.
func (f *moshFW) frame(res modemResult, limit int) []byte {
	out := truncate(res.out, limit)
	if f.atMode != nil {
		return out
	}
	return append(append(append([]byte(nil), out...), "\r\n"...), moshPrompt...)
}

// shellArgv splits a shell line into arguments the way Zephyr's shell does (make_argv):
// whitespace separates; outside quotes a backslash keeps the next byte; single or double quotes
// group, and inside them a backslash escapes only the quote character (other sequences such as
// \n stay as they are).
func shellArgv(line string) ([]string, error) {
	var argv []string
	var cur []byte
	inArg := false
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(line) && line[i+1] == quote {
				cur = append(cur, quote)
				i++
			} else if c == quote {
				quote = 0
			} else {
				cur = append(cur, c)
			}
		case c == '\\':
			if i+1 < len(line) {
				cur = append(cur, line[i+1])
				i++
			}
			inArg = true
		case c == '\'' || c == '"':
			quote = c
			inArg = true
		case c == ' ' || c == '\t':
			if inArg {
				argv = append(argv, string(cur))
				cur, inArg = nil, false
			}
		default:
			cur = append(cur, c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("not terminated: %c", quote)
	}
	if inArg {
		argv = append(argv, string(cur))
	}
	return argv, nil
}
