package cmng

import (
	"fmt"
	"strconv"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/journal"
)

// Limits describes the device's command line.
type Limits struct {
	// LineLimit is the longest command line, in characters, the device's AT host stores:
	// the whole command including "AT" (and, in the shell dialect, the `at '…'` around it).
	LineLimit int
}

// Line limits of the device-side AT hosts (§1.10, §3.2): at_client stores 4095 characters
// (CONFIG_AT_HOST_CMD_MAX_LEN 4096 less the NUL), Modem Shell 3583 (CONFIG_SHELL_CMD_BUFF_SIZE
// 3584 less the NUL Zephyr's shell keeps), serial_lte_modem 4096 (SLM_AT_MAX_CMD_LEN).
const (
	LineLimitATClient   = 4095
	LineLimitModemShell = 3583
	LineLimitSLM        = 4096
)

// DefaultLineLimit is the line limit of a device firmware ("at_client", "modem_shell",
// "serial_lte_modem"); unknown names get at_client's.
func DefaultLineLimit(personality string) int {
	switch personality {
	case "modem_shell", "mosh", "shell":
		return LineLimitModemShell
	case "serial_lte_modem", "slm":
		return LineLimitSLM
	}
	return LineLimitATClient
}

// Options tune the credential store.
type Options struct {
	// LineLimit overrides the device's line limit (0: at_client's for the raw dialect,
	// Modem Shell's for the shell dialect).
	LineLimit int
	// AllowReserved permits sec_tags above 2147483647 and the types %CMNG does not normally
	// write (5–11). The modem refuses most such writes (514, 519); this is for experts.
	AllowReserved bool
	// Journal, when set, remembers each board's functional mode before the Store changes it,
	// until it is restored (TakeOffline, RestoreCFUN, RestoreJournaled).
	Journal *journal.Journal
}

func (o Options) lineLimit(d at.Dialect) int {
	if o.LineLimit > 0 {
		return o.LineLimit
	}
	if d == at.Shell {
		return LineLimitModemShell
	}
	return LineLimitATClient
}

// WriteCommand is the AT command that writes content: AT%CMNG=0,<tag>,<type>,"<content>".
func WriteCommand(tag uint64, typ Type, content []byte) string {
	return "AT%CMNG=0," + strconv.FormatUint(tag, 10) + "," + strconv.Itoa(int(typ)) + `,"` + string(content) + `"`
}

// WireLength is how many characters the device's line buffer must hold for cmd in the dialect
// (the raw command, or the shell's `at '…'` with its escapes), not counting a terminator.
func WireLength(cmd string, d at.Dialect) int {
	if d == at.Shell {
		return len(at.ShellLine(cmd))
	}
	return len(cmd)
}

// ShellLineEndingsFix is what to do about content with LF line breaks in the shell dialect.
const ShellLineEndingsFix = "give the content CR LF line breaks (in a manifest: line_endings: crlf, for the credential or the whole file; " +
	"for write: convert the file), so the bytes sent are the bytes stored, or use a raw AT host (at_client over UART)"

// Preflight checks a %CMNG write before any byte is sent, so that nothing goes on the wire that
// the device would refuse, cut or hang on: content non-empty, ASCII only, without `"`, NUL, BS
// (0x08) or DEL (0x7F); in the shell dialect also without a lone CR or a lone LF (the shell
// stores every line break as CR LF, so only CR LF content is stored exactly as given), a
// backslash or other control characters; sec_tag 0–2147483647 unless o.AllowReserved; a type %CMNG writes (0–4;
// 5–11 only with o.AllowReserved); and the whole command, as it goes on the wire for the
// dialect, within the line limit. The error is a *PreflightError (matching ErrPreflight); it
// never shows secret content.
func Preflight(tag uint64, typ Type, content []byte, dialect at.Dialect, o Options) error {
	return preflight(tag, typ, content, dialect, 0, o)
}

// preflight is Preflight with extra characters the terminator leaves in the line buffer (the CR
// of a CR LF terminator in at_host's CRLF mode).
func preflight(tag uint64, typ Type, content []byte, dialect at.Dialect, extra int, o Options) error {
	fail := func(reason, fix string) error {
		return &PreflightError{SecTag: tag, Type: typ, Reason: reason, Fix: fix}
	}
	switch {
	case tag > 4294967295:
		return fail("sec_tag out of range 0–4294967295", "use a sec_tag in 0–2147483647")
	case tag > uint64(MaxUserTag) && !o.AllowReserved:
		return fail("sec_tag above 2147483647 is reserved for the modem",
			"use a sec_tag in 0–2147483647 (--allow-reserved to try anyway)")
	case !typ.Known():
		return fail(fmt.Sprintf("unknown credential type %d", int(typ)), "use a type 0–4")
	case typ == MaxType:
		return fail("type 12 is not known to any modem firmware", "use a type 0–4")
	case !typ.Writable() && !o.AllowReserved:
		return fail(fmt.Sprintf("type %d (%s) is not written with %%CMNG", int(typ), typ),
			"%CMNG writes types 0–4; the others belong to the modem or to %XPMNG/%KEYGEN (--allow-reserved to try anyway)")
	case len(content) == 0:
		return fail("empty content", "the modem does not accept an empty credential")
	}
	secret := typ.Secret()
	where := func(i int, c byte) string {
		if secret {
			return fmt.Sprintf("at byte offset %d", i)
		}
		return fmt.Sprintf("0x%02X at byte offset %d", c, i)
	}
	for i, c := range content {
		switch {
		case c >= 0x80:
			return fail("non-ASCII byte "+where(i, c), "the modem stores ASCII text only; PEM files are ASCII")
		case c == '"':
			return fail(fmt.Sprintf("double quote at byte offset %d", i),
				"content cannot contain \": the AT host would end the string there")
		case c == 0x00:
			return fail(fmt.Sprintf("NUL byte at byte offset %d", i), "the AT host ignores or ends the line at NUL; remove it")
		case c == 0x08 || c == 0x7f:
			return fail(fmt.Sprintf("BS/DEL byte 0x%02X at byte offset %d", c, i),
				"the AT host treats BS and DEL as editing keys, even inside quotes; remove them")
		}
		if dialect != at.Shell {
			continue
		}
		switch {
		case c == '\r' && (i+1 >= len(content) || content[i+1] != '\n'):
			return fail(fmt.Sprintf("lone CR at byte offset %d", i),
				"a CR not followed by LF ends the shell line; use CR LF line breaks")
		case c == '\n' && (i == 0 || content[i-1] != '\r'):
			return fail(fmt.Sprintf("LF line break at byte offset %d: through the shell every line break is stored as CR LF "+
				"(lib/at_shell), so the modem would hold other bytes than asked", i), ShellLineEndingsFix)
		case c == '\\':
			return fail(fmt.Sprintf("backslash at byte offset %d", i),
				"the shell and lib/at_shell treat \\ as an escape (\\n becomes a line break); remove it or use the raw AT dialect")
		case c < 0x20 && c != '\r' && c != '\n':
			return fail(fmt.Sprintf("control byte 0x%02X at byte offset %d", c, i),
				"the shell interprets control characters (tab completes, ESC starts a sequence); remove it")
		}
	}
	limit := o.lineLimit(dialect)
	n := WireLength(WriteCommand(tag, typ, content), dialect) + extra
	if n > limit {
		form := "the command"
		if dialect == at.Shell {
			form = "the shell line (with its escapes)"
		}
		return fail(fmt.Sprintf("%s is %d characters, over the device's line limit of %d by %d", form, n, limit, n-limit),
			"the AT host would drop the end of the line and hang inside the quotes; shorten the credential "+
				"(e.g. fewer certificates in the chain) or use device firmware with a larger line buffer and pass its limit")
	}
	return nil
}
