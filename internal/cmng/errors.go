package cmng

import (
	"errors"
	"fmt"
)

// Sentinels the typed errors match with errors.Is.
var (
	// ErrPreflight: a write was refused before any byte was sent (*PreflightError).
	ErrPreflight = errors.New("cmng: refused before sending")
	// ErrNotReadable: the type cannot be read back with %CMNG=2 (*NotReadableError).
	ErrNotReadable = errors.New("cmng: credential type cannot be read back")
	// ErrTruncated: an answer arrived cut short (*TruncatedError).
	ErrTruncated = errors.New("cmng: answer truncated")
	// ErrVerify: the modem holds something other than what was written or generated
	// (*VerifyError).
	ErrVerify = errors.New("cmng: verification failed")
	// ErrMalformed: a response line does not have the documented form.
	ErrMalformed = errors.New("cmng: malformed response")
)

// PreflightError says why a write would fail or hang on the device, found before sending.
// It never carries credential content.
type PreflightError struct {
	SecTag uint64
	Type   Type
	Reason string // what is wrong
	Fix    string // what to do about it
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("cmng: write sec_tag %d type %s: %s", e.SecTag, e.Type, e.Reason)
}

// Is makes every PreflightError match ErrPreflight.
func (e *PreflightError) Is(target error) bool { return target == ErrPreflight }

// NotReadableError: %CMNG=2 of a type the modem does not give back (it answers 514).
type NotReadableError struct {
	SecTag uint32
	Type   Type
}

func (e *NotReadableError) Error() string {
	return fmt.Sprintf("cmng: read sec_tag %d type %s: the modem gives back only types %s and %s; compare the SHA-256 in the list instead",
		e.SecTag, e.Type, RootCACert, PSKID)
}

// Is makes every NotReadableError match ErrNotReadable.
func (e *NotReadableError) Is(target error) bool { return target == ErrNotReadable }

// TruncatedError: an answer was cut short — a read-back without its closing quote, or a
// response without its final result code. The device-side AT host's buffer is too small for
// the answer; the message names the setting to raise.
type TruncatedError struct {
	Op       string // e.g. "read sec_tag 42 type ROOT_CA_CERT"
	Received int    // bytes of the answer that arrived
	Reason   string // "no closing quote", "no final result code"
	Err      error  // the underlying *at.TimeoutError, when the answer never ended
}

// TruncatedFix is the remedy a TruncatedError names.
const TruncatedFix = "the AT host on the device cuts long answers: rebuild its firmware with a larger " +
	"CONFIG_AT_HOST_CMD_MAX_LEN (at_client; the AT host response buffer, CONFIG_AT_HOST_SOCKET_BUF_SIZE on " +
	"NCS 1.0-era builds, CONFIG_AT_SHELL_CMD_RESPONSE_MAX_LEN for the shell)"

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("cmng: %s: answer truncated after %d bytes (%s); %s", e.Op, e.Received, e.Reason, TruncatedFix)
}

// Is makes every TruncatedError match ErrTruncated.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

// Unwrap gives the timeout behind the truncation, if any.
func (e *TruncatedError) Unwrap() error { return e.Err }

// VerifyError: after a write or a key generation, what the modem reports does not prove that
// it holds what nrfprov meant. Hashes are shown, never content.
type VerifyError struct {
	Op     string
	SecTag uint32
	Type   Type
	Want   string // expected SHA-256 (uppercase hex), when one is compared
	Got    string // what the modem reported
	Reason string
}

func (e *VerifyError) Error() string {
	s := fmt.Sprintf("cmng: %s: %s", e.Op, e.Reason)
	if e.Want != "" || e.Got != "" {
		s += fmt.Sprintf(" (want SHA-256 %s, modem lists %s)", orNone(e.Want), orNone(e.Got))
	}
	return s
}

// Is makes every VerifyError match ErrVerify.
func (e *VerifyError) Is(target error) bool { return target == ErrVerify }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ModemError is the modem refusing a command: "+CME ERROR: <n>", or a plain "ERROR" (Code -1)
// when +CMEE=1 was not set. Message says what the code means; Hint what to do.
type ModemError struct {
	Op      string // what nrfprov was doing, e.g. "write sec_tag 42 type CLIENT_CERT"
	Code    int    // the CME code, or -1 for a plain ERROR
	Message string
	Hint    string
	Err     error // the *at.CMEError or *at.ErrorResult
}

// CodePlainError is ModemError.Code for a plain ERROR.
const CodePlainError = -1

func (e *ModemError) Error() string {
	if e.Code == CodePlainError {
		return fmt.Sprintf("cmng: %s: the modem answered ERROR (%s)", e.Op, e.Message)
	}
	return fmt.Sprintf("cmng: %s: +CME ERROR: %d: %s", e.Op, e.Code, e.Message)
}

// Unwrap gives the at error.
func (e *ModemError) Unwrap() error { return e.Err }

// cmeText is the meaning of each CME code the modem uses for credentials (§1.8).
var cmeText = map[int]string{
	0:   "phone failure, or a command or parameter this modem firmware does not support",
	23:  "memory failure",
	50:  "incorrect parameters",
	60:  "system error",
	513: "not found",
	514: "no access",
	515: "memory full",
	518: "not allowed while the modem is online",
	519: "already exists, or the item is protected",
	520: "authentication failed",
	523: "key generation failed",
	527: "invalid content",
	528: "not allowed while the power-off warning is active",
}

// opKind says what kind of operation failed, for the codes whose meaning depends on it.
type opKind int

const (
	opOther opKind = iota
	opRead
	opWrite
	opDelete
	opKeyGen
	opList
)

// newModemError explains a CME code (or -1 for ERROR) for the operation op of kind k on typ.
func newModemError(op string, k opKind, typ Type, code int, err error) *ModemError {
	e := &ModemError{Op: op, Code: code, Err: err}
	if code == CodePlainError {
		e.Message = "no reason given"
		e.Hint = "the modem gives the reason as +CME ERROR: <n> after AT+CMEE=1 (nrfprov enables it unless told not to); " +
			"a plain ERROR also means a command or type this modem firmware does not know"
		return e
	}
	e.Message = cmeText[code]
	if e.Message == "" {
		e.Message = "unknown error code"
	}
	switch code {
	case 513:
		e.Hint = "there is no credential with this sec_tag and type; list them with `nrfprov list`"
	case 514:
		switch k {
		case opRead:
			e.Message = "no access: this type cannot be read back"
			e.Hint = "only root CA certificates (0) and PSK identities (4) can be read; compare the SHA-256 from `nrfprov list` instead"
		case opWrite, opDelete, opKeyGen:
			e.Message = "no access: the item is reserved for the modem"
			e.Hint = "sec_tags above 2147483647 and the modem's own types are not for user credentials; use a sec_tag in 0–2147483647"
		}
	case 515:
		e.Hint = "the modem's credential storage is full; delete credentials that are no longer used"
	case 518:
		e.Hint = "credentials can only be written or deleted with the modem offline (AT+CFUN=4 or 0); nrfprov sets CFUN=4 itself unless --keep-cfun is given"
	case 519:
		if k == opKeyGen {
			e.Hint = "a key already exists in this sec_tag; delete it first (type 2) or choose another sec_tag"
		} else {
			e.Hint = "the item is protected or belongs to the modem; it cannot be overwritten"
		}
	case 520:
		e.Hint = "the modem requires an authenticated command (%XSUDO) for this operation"
	case 523:
		e.Hint = "the modem could not generate the key; make sure it is offline (CFUN=4) and retry"
	case 527:
		if typ == RootCACert || typ == ClientCert {
			e.Message = "invalid content: not a valid PEM certificate"
		}
		e.Hint = "nRF91x1 modem firmware 2.x checks certificates: send the PEM with real line breaks (no literal \\n), " +
			"BEGIN/END lines intact, and nothing before or after it"
	case 528:
		e.Hint = "the modem's power-off warning (%XPOFWARN) is active because its supply voltage is low; check the supply, then power-cycle the board"
	case 0, 23, 50, 60:
		e.Hint = "a generic modem error; check the command is supported by this modem firmware version"
	}
	return e
}
