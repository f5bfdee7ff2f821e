package sim_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// Tests of each firmware personality's framing, driven through the board's pseudo-terminal
// (modem-cmng-athost.md §2.3–2.6, §3, §7.1). Where the model and the spec could disagree the
// assertions follow the spec. Helpers shared by personality_test.go, faults_test.go and
// modem_cmds_test.go carry the prefix a2.

// a2SHA is the digest the modem reports for content: uppercase hex SHA-256 of exactly the bytes
// between the quotes (§1.7).
func a2SHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// a2Cert makes a real self-signed certificate as PEM with LF line breaks.
func a2Cert(t testing.TB, cn string) string {
	t.Helper()
	return testsupport.CertPEM(t, cn, 0)
}

// a2Settle waits (polling the board's state) until the board is not executing a command and
// has no received bytes waiting. A host that waits for the final result code must never lose
// bytes (TestSpecNoByteLossAfterFinalResult checks exactly that); the other tests settle first so
// that a regression there fails in one clearly named place instead of as random ERRORs.
func a2Settle(t testing.TB, b *testBoard) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		st := b.state()
		if (!st.Busy || st.Hung || !st.Powered) && st.RXQueued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("board did not settle: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// a2Write settles the board, then writes s.
func a2Write(t testing.TB, b *testBoard, h *host, s string) {
	t.Helper()
	a2Settle(t, b)
	h.write(s)
}

// a2Cmd settles the board, then sends c with a CR and returns the response.
func a2Cmd(t testing.TB, b *testBoard, h *host, c string) string {
	t.Helper()
	a2Settle(t, b)
	return h.cmd(c)
}

// a2Want sends c with a CR and fails unless the response is exactly want.
func a2Want(t testing.TB, b *testBoard, h *host, c, want string) {
	t.Helper()
	if got := a2Cmd(t, b, h, c); got != want {
		t.Fatalf("%q: got %q, want %q", c, got, want)
	}
}

// a2Silent waits until the board processed everything the host sent and fails if it wrote
// anything since TxBytes was txBefore.
func a2Silent(t testing.TB, b *testBoard, h *host, rx, txBefore uint64) {
	t.Helper()
	st := b.waitIdle(rx)
	if st.Stats.TxBytes != txBefore {
		t.Fatalf("board wrote %d bytes, want none (pending %q)", st.Stats.TxBytes-txBefore, h.drain())
	}
	if out := h.drain(); out != "" {
		t.Fatalf("board wrote %q, want nothing", out)
	}
}

func a2Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

var a2DefaultRevision = regexp.MustCompile(`^mfw_nrf9160_1\.3\.\d+$`)

// ---------------------------------------------------------------- at_client

// TestPersATClientBootAndFraming: banner, "The AT host sample started", "Ready" (§2.6), then
// raw modem responses with no echo and no leading CR LF (§1.6, §2.3).
func TestPersATClientBootAndFraming(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	boot := h.expect("Ready\r\n")
	if !strings.HasPrefix(boot, "*** Booting nRF Connect SDK") {
		t.Fatalf("boot output does not start with the NCS banner: %q", boot)
	}
	if !strings.HasSuffix(boot, "\r\nThe AT host sample started\r\nReady\r\n") {
		t.Fatalf("boot output: %q, want banner, then the sample line, then Ready", boot)
	}
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
	got := a2Cmd(t, b, h, "AT+CGMR")
	if !strings.HasSuffix(got, "\r\nOK\r\n") || !a2DefaultRevision.MatchString(strings.TrimSuffix(got, "\r\nOK\r\n")) {
		t.Fatalf("AT+CGMR: %q, want the bare revision line then OK, nothing else", got)
	}
	a2Want(t, b, h, "AT+NOSUCH", "ERROR\r\n")
	a2Want(t, b, h, "at", "OK\r\n")
}

// TestPersATClientCommandBeforeReady: a command sent between the banner and "Ready" fails
// inside the modem library; at_host writes back its buffer, i.e. the command text with no result
// code (§2.5, §2.6, §7.1 item 4).
func TestPersATClientCommandBeforeReady(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{ReadyDelay: 2 * time.Second})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("The AT host sample started\r\n")
	a2Write(t, b, h, "AT+CGMR\r")
	if st := b.waitIdle(h.sent); st.Ready {
		t.Fatal("test is vacuous: the board was already ready")
	}
	got := h.expect("Ready\r\n")
	if got != "AT+CGMR"+"Ready\r\n" {
		t.Fatalf("between the sample line and Ready: %q, want the command text with no result code", got)
	}
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestPersATClientFirstCommandError: junk from power-on makes the first command answer ERROR;
// the next answers OK (§2.6, Cellular Monitor's throw-away command). A debugger reset is not a
// power cycle; unplug and replug is.
func TestPersATClientFirstCommandError(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{FirstCommandError: true})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT", "ERROR\r\n")
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT", "OK\r\n")

	b.reset()
	h.bootATClient()
	a2Want(t, b, h, "AT", "OK\r\n")

	if err := b.Unplug(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.Replug(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	h2 := openHost(t, b.VCOM0(), 0)
	h2.bootATClient()
	a2Want(t, b, h2, "AT", "ERROR\r\n")
	a2Want(t, b, h2, "AT", "OK\r\n")
}

// a2CredWithBreaks is content with CR LF and bare LF inside the quotes.
const a2CredWithBreaks = "-----BEGIN NRFSIM-----\r\nline one\r\nline two\n-----END NRFSIM-----\r\n"

// TestPersATClientTermination: each CONFIG_AT_HOST_TERMINATION mode ends a command only on its
// own byte (§2.3 step 2), and CR/LF between quotes are data in every mode (§1.4, §2.3).
func TestPersATClientTermination(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		term    sim.Termination
		end     string
		notEnd  []string // bytes that must not end a command in this mode
		partial string   // sent first; must stay pending
		finish  string   // completes partial
	}{
		{"lf", sim.TermLF, "\n", []string{"\r", "\x00"}, "AT\r", "\n"},
		{"crlf", sim.TermCRLF, "\r\n", []string{"\n", "\x00"}, "AT\r", "\n"},
		{"nul", sim.TermNUL, "\x00", []string{"\r", "\n", "\r\n"}, "AT", "\x00"},
		{"cr", sim.TermCR, "\r", []string{"\n", "\x00"}, "AT", "\r"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := startBoard(t, sim.BoardConfig{Termination: tc.term, TermSet: true})
			h := openHost(t, b.VCOM0(), 0)
			h.bootATClient()
			send := func(c string) string {
				t.Helper()
				a2Write(t, b, h, c+tc.end)
				return h.final()
			}
			if got := send("AT"); got != "OK\r\n" {
				t.Fatalf("AT: %q", got)
			}
			// Other line endings do not send.
			for _, ne := range tc.notEnd {
				tx := b.state().Stats.TxBytes
				a2Write(t, b, h, "AT"+ne)
				a2Silent(t, b, h, h.sent, tx)
				// Clear the line: DEL everything that may be stored.
				a2Write(t, b, h, "\x7f\x7f\x7f\x7f")
				b.waitIdle(h.sent)
				if st := b.state(); st.RXPending != 0 {
					t.Fatalf("after DELs %d bytes pending", st.RXPending)
				}
			}
			// A partial command completed later by the terminator.
			tx := b.state().Stats.TxBytes
			a2Write(t, b, h, tc.partial)
			a2Silent(t, b, h, h.sent, tx)
			if st := b.state(); st.RXPending != len(tc.partial) {
				t.Fatalf("pending %d bytes after %q, want %d", st.RXPending, tc.partial, len(tc.partial))
			}
			a2Write(t, b, h, tc.finish)
			if got := h.final(); got != "OK\r\n" {
				t.Fatalf("%q completed by %q: %q", tc.partial, tc.finish, got)
			}

			// CR and LF inside quotes are data: the stored content is exactly what was between
			// the quotes.
			if got := send(`AT%CMNG=0,42,0,"` + a2CredWithBreaks + `"`); got != "OK\r\n" {
				t.Fatalf("write with line breaks: %q", got)
			}
			wantList := fmt.Sprintf("%%CMNG: 42,0,\"%s\"\r\nOK\r\n", a2SHA(a2CredWithBreaks))
			if got := send("AT%CMNG=1,42,0"); got != wantList {
				t.Fatalf("list: %q, want %q", got, wantList)
			}
			wantRead := fmt.Sprintf("%%CMNG: 42,0,\"%s\",\"%s\"\r\nOK\r\n", a2SHA(a2CredWithBreaks), a2CredWithBreaks)
			if got := send("AT%CMNG=2,42,0"); got != wantRead {
				t.Fatalf("read back: %q, want %q", got, wantRead)
			}
		})
	}
}

// TestPersATClientCRModeWithCRLFHost: the common combination of CR termination on the device
// and CRLF from the host: the LF becomes the first byte of the next command and the modem
// tolerates it (§2.3).
func TestPersATClientCRModeWithCRLFHost(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	steps := []struct{ cmd, want string }{
		{"AT", "OK\r\n"},
		{"AT+CFUN=4", "OK\r\n"},
		{"AT+CFUN?", "+CFUN: 4\r\nOK\r\n"},
		{"AT+CMEE=1", "OK\r\n"},
		{"AT%CMNG=2,777,0", "+CME ERROR: 513\r\n"},
		{`AT%CMNG=0,777,4,"id"`, "OK\r\n"},
		{"AT%CMNG=1,777", fmt.Sprintf("%%CMNG: 777,4,\"%s\"\r\nOK\r\n", a2SHA("id"))},
	}
	for _, s := range steps {
		a2Write(t, b, h, s.cmd+"\r\n")
		if got := h.final(); got != s.want {
			t.Fatalf("%s<CR><LF>: got %q, want %q", s.cmd, got, s.want)
		}
	}
	if st := b.waitIdle(h.sent); st.RXPending != 1 {
		t.Fatalf("after the last CRLF %d bytes pending, want the LF only", st.RXPending)
	}
	if got := a2Cmd(t, b, h, "AT+CGMR"); !strings.HasPrefix(got, "mfw_nrf9160_1.3.") {
		t.Fatalf("AT+CGMR after a leading LF: %q", got)
	}
}

// TestPersATClientWhitespaceAndEditing: whitespace-only lines get no answer (v2+, §2.3), BS and
// DEL remove the last stored byte, even inside quotes, and NUL outside quotes is ignored in CR
// mode (§2.3 steps 1–2).
func TestPersATClientWhitespaceAndEditing(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	st := b.state()
	a2Write(t, b, h, "\r")
	a2Write(t, b, h, "   \r")
	a2Write(t, b, h, " \t \t\r")
	a2Write(t, b, h, "\n\r")
	a2Silent(t, b, h, h.sent, st.Stats.TxBytes)
	if got := b.state().Stats.Commands; got != st.Stats.Commands {
		t.Fatalf("whitespace lines reached the modem: commands %d -> %d", st.Stats.Commands, got)
	}
	a2Want(t, b, h, "ATX\x7f", "OK\r\n")
	a2Want(t, b, h, "ATXY\x08\x08", "OK\r\n")
	a2Want(t, b, h, "A\x00T", "OK\r\n")
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=0,5,4,\"abcX\x7f\"", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=2,5,4", fmt.Sprintf("%%CMNG: 5,4,\"%s\",\"abc\"\r\nOK\r\n", a2SHA("abc")))
	// DEL on an empty line does nothing.
	a2Want(t, b, h, "\x7f\x7f\x08AT", "OK\r\n")
}

// TestPersATClientDeleteKeepsQuoteState: BS/DEL never change the quote state (§2.3: only a
// stored '"' toggles it). Deleting an opening quote leaves the AT host inside quotes, so CR is
// data; a further quote closes it and the terminator sends the garbled line.
func TestPersATClientDeleteKeepsQuoteState(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	tx := b.state().Stats.TxBytes
	a2Write(t, b, h, "AT\"\x7f\r")
	a2Silent(t, b, h, h.sent, tx)
	if st := b.state(); !st.RXInQuotes || st.RXPending != 3 {
		t.Fatalf("want inside quotes with \"AT\\r\" pending; in_quotes=%v pending=%d", st.RXInQuotes, st.RXPending)
	}
	a2Want(t, b, h, `"`, "ERROR\r\n")
	a2Want(t, b, h, "AT", "OK\r\n")
}

// TestPersATClientUnbalancedQuoteHangs: a line with an odd number of quotes never ends: every
// later terminator is data and nothing is answered until a reset (§2.4 last bullet).
func TestPersATClientUnbalancedQuoteHangs(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
	tx := b.state().Stats.TxBytes
	a2Write(t, b, h, "AT%CMNG=0,1,4,\"abc\r")
	a2Write(t, b, h, "AT\r\n")
	a2Write(t, b, h, "AT+CGMR\r")
	a2Silent(t, b, h, h.sent, tx)
	if st := b.state(); !st.RXInQuotes || st.Stats.Commands != 1 {
		t.Fatalf("want the AT host inside quotes with only AT+CFUN=4 executed; in_quotes=%v commands=%d", st.RXInQuotes, st.Stats.Commands)
	}
	b.reset()
	h.bootATClient()
	a2Want(t, b, h, "AT", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=1,1", "OK\r\n")
}

// ---------------------------------------------------------------- modem_shell

// TestPersModemShell: prompt, echo, `at <cmd>`, unknown command, the \n unescaping for
// AT%CMNG=0 (§3.3), AT command mode with echo and its Ctrl-X Ctrl-Q escape (§3.2).
func TestPersModemShell(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell})
	h := openHost(t, b.VCOM0(), 0)
	boot := h.expect("mosh:~$ ")
	if !strings.HasPrefix(boot, "*** Booting nRF Connect SDK") {
		t.Fatalf("boot output: %q", boot)
	}

	// Echo of the typed line, then the revision and OK, then the prompt again.
	got := a2Cmd(t, b, h, "at AT+CGMR")
	if !strings.HasPrefix(got, "at AT+CGMR\r\n") {
		t.Fatalf("no echo of the typed line: %q", got)
	}
	if !regexp.MustCompile(`\r\nmfw_nrf9160_1\.3\.\d+\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("at AT+CGMR: %q", got)
	}
	h.expect("mosh:~$ ")

	// Escaped double quotes on the shell line reach the modem as quotes.
	a2Cmd(t, b, h, "at AT+CFUN=4")
	h.expect("mosh:~$ ")
	if got := a2Cmd(t, b, h, `at AT%CMNG=0,3,4,\"shell-id\"`); !strings.HasSuffix(got, "\r\nOK\r\n") {
		t.Fatalf("escaped quotes: %q", got)
	}
	h.expect("mosh:~$ ")

	// nrfcredstore's shell mode: single quotes, PEM line breaks as the two characters \n.
	cert := a2Cert(t, "mosh")
	escaped := strings.ReplaceAll(cert, "\n", `\n`)
	if got := a2Cmd(t, b, h, `at 'AT%CMNG=0,16842753,0,"`+escaped+`"'`); !strings.HasSuffix(got, "\r\nOK\r\n") {
		t.Fatalf("shell write: %q", got)
	}
	h.expect("mosh:~$ ")
	wantSHA := a2SHA(strings.ReplaceAll(cert, "\n", "\r\n"))
	got = a2Cmd(t, b, h, "at AT%CMNG=1,16842753,0")
	if !strings.Contains(got, "%CMNG: 16842753,0,\""+wantSHA+"\"\r\n") {
		t.Fatalf("list after a shell write: %q, want the SHA of the certificate with CR LF breaks %s", got, wantSHA)
	}
	h.expect("mosh:~$ ")

	// Unknown command.
	a2Write(t, b, h, "frobnicate\r")
	if got := h.expect("mosh:~$ "); !strings.Contains(got, "frobnicate: command not found") {
		t.Fatalf("unknown command: %q", got)
	}

	// AT command mode: raw AT with echo.
	a2Write(t, b, h, "at at_cmd_mode start\r")
	h.expect("MoSh AT command mode started, press ctrl-x ctrl-q to escape")
	h.expect("===\r\n")
	h.drain()
	got = a2Cmd(t, b, h, "AT+CFUN?")
	if got != "AT+CFUN?\r\n+CFUN: 4\r\nOK\r\n" && got != "AT+CFUN?\n+CFUN: 4\r\nOK\r\n" {
		t.Fatalf("AT mode: %q, want the echoed command, a line break, the response", got)
	}
	// CR LF inside quotes are data in AT mode too.
	a2Write(t, b, h, "AT%CMNG=0,3,4,\"a\r\nb\"\r")
	if got := h.final(); !strings.HasSuffix(got, "OK\r\n") || strings.Count(got, "OK\r\n") != 1 {
		t.Fatalf("AT mode write with CR LF inside quotes: %q", got)
	}
	if got := a2Cmd(t, b, h, "AT%CMNG=1,3,4"); !strings.Contains(got, "%CMNG: 3,4,\""+a2SHA("a\r\nb")+"\"\r\nOK\r\n") {
		t.Fatalf("AT mode list: %q", got)
	}
	// Shell commands are not recognised in AT mode.
	if got := a2Cmd(t, b, h, "at AT"); strings.Contains(got, "mosh:~$") || !strings.HasSuffix(got, "ERROR\r\n") {
		t.Fatalf("shell syntax in AT mode: %q", got)
	}

	// Ctrl-X Ctrl-Q: back to the shell.
	a2Write(t, b, h, "\x18\x11")
	h.expect("mosh:~$ ")
	if got := a2Cmd(t, b, h, "at AT"); got != "at AT\r\nOK\r\n" {
		t.Fatalf("at AT after leaving AT mode: %q", got)
	}
	h.expect("mosh:~$ ")
}

// TestPersModemShellLongLine: a line longer than CONFIG_SHELL_CMD_BUFF_SIZE (3584) is cut by the
// shell; the board answers and keeps working (§3.2, §7.2 step 5).
func TestPersModemShellLongLine(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("mosh:~$ ")
	a2Write(t, b, h, `at AT%CMNG=0,9,0,"`+strings.Repeat("A", 4000)+"\"\r")
	got := h.expect("mosh:~$ ")
	if strings.Count(got, "A") > 3584 {
		t.Fatalf("the shell echoed %d characters of a 3584-byte buffer", strings.Count(got, "A"))
	}
	if got := a2Cmd(t, b, h, "at AT"); got != "at AT\r\nOK\r\n" {
		t.Fatalf("at AT after a long line: %q", got)
	}
	h.expect("mosh:~$ ")
	if st := b.state(); len(st.Credentials) != 0 {
		t.Fatalf("a cut line stored a credential: %+v", st.Credentials)
	}
}

// TestPersModemShellATModeOverflow: MoSh's AT command mode prints "Buffer overflow, dropping
// '<c>'" for bytes past its buffer; outside quotes the terminator still sends the cut line (§3.2).
func TestPersModemShellATModeOverflow(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("mosh:~$ ")
	a2Write(t, b, h, "at at_cmd_mode start\r")
	h.expect("===\r\n")
	a2Write(t, b, h, "AT+CGMR"+strings.Repeat("X", 3600)+"\r")
	got := h.final()
	if !strings.Contains(got, "Buffer overflow, dropping 'X'") || !strings.HasSuffix(got, "ERROR\r\n") {
		t.Fatalf("overflow in AT mode: ...%q", got[max(0, len(got)-200):])
	}
	if got := a2Cmd(t, b, h, "AT"); got != "AT\r\nOK\r\n" && got != "AT\nOK\r\n" {
		t.Fatalf("AT after the overflow: %q", got)
	}
}

// TestSpecMoshATModePipelining: MoSh's AT command mode "supports pipelining up to 10 commands
// separated by |" (§3.2): both commands are executed and answered.
func TestSpecMoshATModePipelining(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("mosh:~$ ")
	a2Write(t, b, h, "at at_cmd_mode start\r")
	h.expect("===\r\n")
	a2Write(t, b, h, "AT+CFUN?|AT+CGMM\r")
	var out string
	for i := 0; i < 2; i++ {
		r, ok := a2TryFinal(h, time.Second)
		out += r
		if !ok || strings.HasSuffix(r, "ERROR\r\n") {
			break
		}
	}
	if !strings.Contains(out, "+CFUN: 0\r\nOK\r\n") || !regexp.MustCompile(`\bnRF9160-[A-Z]+\r\nOK\r\n`).MatchString(out) {
		t.Fatalf("pipelined AT+CFUN?|AT+CGMM: %q, want both answered", out)
	}
}

// TestSpecMoshUnescapeExactPrefix: the \n unescaping applies "only for commands that start with
// exactly AT%CMNG=0" (§3.3); a lower-case at%cmng=0 keeps its two characters.
func TestSpecMoshUnescapeExactPrefix(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.ModemShell})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("mosh:~$ ")
	a2Cmd(t, b, h, "at AT+CFUN=4")
	h.expect("mosh:~$ ")
	if got := a2Cmd(t, b, h, `at 'at%cmng=0,8,4,"a\nb"'`); !strings.HasSuffix(got, "\r\nOK\r\n") {
		t.Fatalf("write: %q", got)
	}
	h.expect("mosh:~$ ")
	got := a2Cmd(t, b, h, "at AT%CMNG=1,8,4")
	if want := "%CMNG: 8,4,\"" + a2SHA(`a\nb`) + "\""; !strings.Contains(got, want) {
		t.Fatalf("list: %q, want %s (the literal backslash-n kept)", got, want)
	}
}

// ---------------------------------------------------------------- serial_lte_modem

// TestPersSLMFraming: "Ready" at boot, V.250 framing, CRLF termination by default, junk before
// "AT" ignored (§3.1).
func TestPersSLMFraming(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.SerialLTEModem})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("Ready\r\n")
	slm := func(c string) string {
		t.Helper()
		a2Write(t, b, h, c+"\r\n")
		return h.final()
	}
	if got := slm("AT"); got != "\r\nOK\r\n" {
		t.Fatalf("AT: %q, want V.250 \\r\\nOK\\r\\n", got)
	}
	got := slm("AT+CGMR")
	if !regexp.MustCompile(`^\r\nmfw_nrf9160_1\.3\.\d+\r\n\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("AT+CGMR: %q, want \\r\\n<info>\\r\\n\\r\\nOK\\r\\n", got)
	}
	if got := slm("AT+CFUN?"); got != "\r\n+CFUN: 0\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CFUN?: %q", got)
	}
	if got := slm("AT+NOSUCH"); got != "\r\nERROR\r\n" {
		t.Fatalf("unknown command: %q", got)
	}
	slm("AT+CMEE=1")
	if got := slm("AT%CMNG=2,99,0"); got != "\r\n+CME ERROR: 513\r\n" {
		t.Fatalf("CME error: %q", got)
	}
	// CR alone does not end a line in the default CRLF mode.
	tx := b.state().Stats.TxBytes
	a2Write(t, b, h, "AT\r")
	a2Silent(t, b, h, h.sent, tx)
	a2Write(t, b, h, "\n")
	if got := h.final(); got != "\r\nOK\r\n" {
		t.Fatalf("AT<CR> then <LF>: %q", got)
	}
	// BS and DEL edit the line.
	if got := slm("ATX\x7f+CFUN?"); got != "\r\n+CFUN: 0\r\n\r\nOK\r\n" {
		t.Fatalf("DEL: %q", got)
	}
	// Junk before the first AT of a line is ignored.
	if got := slm("xyz AT+CFUN?"); got != "\r\n+CFUN: 0\r\n\r\nOK\r\n" {
		t.Fatalf("junk before AT: %q", got)
	}
	// CR LF inside quotes are data; the stored content is exact.
	slm("AT+CFUN=4")
	if got := slm(`AT%CMNG=0,42,4,"` + "x\r\ny" + `"`); got != "\r\nOK\r\n" {
		t.Fatalf("write: %q", got)
	}
	if got, want := slm("AT%CMNG=1,42"), "\r\n%CMNG: 42,4,\""+a2SHA("x\r\ny")+"\"\r\n\r\nOK\r\n"; got != want {
		t.Fatalf("list: %q, want %q", got, want)
	}
}

// TestSpecSLMOverflowInsideQuotesAnswersError: SLM keeps counting past its buffer and answers
// "\r\nERROR\r\n" when the terminator comes, also for a line that overflows inside quotes (§3.1,
// §2.4 last paragraph). It must not hang like at_host.
func TestSpecSLMOverflowInsideQuotesAnswersError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  sim.BoardConfig
		end  string
	}{
		{"default_crlf", sim.BoardConfig{Personality: sim.SerialLTEModem}, "\r\n"},
		{"cr", sim.BoardConfig{Personality: sim.SerialLTEModem, Termination: sim.TermCR, TermSet: true}, "\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := startBoard(t, tc.cfg)
			h := openHost(t, b.VCOM0(), 0)
			h.expect("Ready\r\n")
			a2Write(t, b, h, "AT+CFUN=4"+tc.end)
			h.final()
			a2Write(t, b, h, `AT%CMNG=0,7,0,"`+strings.Repeat("Q", 5000)+`"`+tc.end)
			if got := h.final(); got != "\r\nERROR\r\n" {
				t.Fatalf("overflowing line: %q, want \\r\\nERROR\\r\\n", got)
			}
			a2Write(t, b, h, "AT"+tc.end)
			if got := h.final(); got != "\r\nOK\r\n" {
				t.Fatalf("AT after the overflow: %q", got)
			}
			if st := b.state(); len(st.Credentials) != 0 {
				t.Fatalf("overflowing write stored something: %+v", st.Credentials)
			}
		})
	}
}

// TestSpecSLMBinaryJunkBeforeAT: SLM ignores everything before the first "AT" of a line because
// "UART can send additional characters when the device is powered on" (§3.1). Such characters
// are typically not ASCII (a floating RX line reads as 0xFF, 0xFE, 0x00...).
func TestSpecSLMBinaryJunkBeforeAT(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.SerialLTEModem})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("Ready\r\n")
	for _, junk := range []string{"\xff", "\xff\xfe", "\x80\x00\xc3"} {
		a2Write(t, b, h, junk+"AT+CFUN?\r\n")
		if got := h.final(); got != "\r\n+CFUN: 0\r\n\r\nOK\r\n" {
			t.Errorf("junk %q before AT+CFUN?: %q, want the command answered", junk, got)
		}
	}
}

// TestPersSLMLineLimit: SLM's line buffer holds 4096 characters (SLM_AT_MAX_CMD_LEN, §1.10,
// §3.1); one more answers ERROR.
func TestPersSLMLineLimit(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.SerialLTEModem})
	h := openHost(t, b.VCOM0(), 0)
	h.expect("Ready\r\n")
	a2Write(t, b, h, "AT+CFUN=4\r\n")
	h.final()
	head := `AT%CMNG=0,7,4,"`
	fits := head + strings.Repeat("L", 4096-len(head)-1) + `"`
	a2Write(t, b, h, fits+"\r\n")
	if got := h.final(); got != "\r\nOK\r\n" {
		t.Fatalf("a 4096-character line: %q", got)
	}
	a2Write(t, b, h, head+strings.Repeat("M", 4096-len(head))+`"`+"\r\n")
	if got := h.final(); got != "\r\nERROR\r\n" {
		t.Fatalf("a 4097-character line: %q", got)
	}
	a2Write(t, b, h, "AT%CMNG=1,7,4\r\n")
	if got, want := h.final(), "\r\n%CMNG: 7,4,\""+a2SHA(fits[len(head):len(fits)-1])+"\"\r\n\r\nOK\r\n"; got != want {
		t.Fatalf("list: %q, want %q", got, want)
	}
}

// ---------------------------------------------------------------- application

// TestPersApplicationNeverAnswers: an application without an AT host prints its banner and
// ignores AT commands in any line ending.
func TestPersApplicationNeverAnswers(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{Personality: sim.Application})
	h := openHost(t, b.VCOM0(), 0)
	if err := b.WaitReady(a2Ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := h.expect("*** Booting nRF Connect SDK"); got != "*** Booting nRF Connect SDK" {
		t.Fatalf("output before the banner: %q", got)
	}
	// Read the whole boot output (TxBytes counts what the board wrote).
	tx := b.state().Stats.TxBytes
	for deadline := time.Now().Add(testTimeout); uint64(h.got.Len()) < tx; {
		if time.Now().After(deadline) {
			t.Fatalf("boot output: %d of %d bytes arrived", h.got.Len(), tx)
		}
		h.fill()
	}
	if !strings.HasSuffix(h.got.String(), "\r\n") {
		t.Fatalf("boot output does not end with a line break: %q", h.got.String())
	}
	h.read = h.got.Len()
	a2Write(t, b, h, "AT\r")
	a2Write(t, b, h, "AT\r\n")
	a2Write(t, b, h, "AT\n")
	a2Write(t, b, h, "AT\x00")
	a2Write(t, b, h, "at AT+CGMR\r\n")
	a2Silent(t, b, h, h.sent, tx)
	if st := b.state(); st.Stats.Commands != 0 {
		t.Fatalf("commands reached the modem: %d", st.Stats.Commands)
	}
}
