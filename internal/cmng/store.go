package cmng

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nrfprov/nrfprov/internal/at"
)

// Store is the modem's credential store, and the modem facts around it, over an AT session.
// Like the session it runs one command at a time; it is not safe for concurrent use.
type Store struct {
	s    *at.Session
	o    Options
	fw   *FirmwareVersion // set once FirmwareVersion has been read
	imei string           // set once IMEI has been read
}

// New returns a Store that talks over s.
func New(s *at.Session, o Options) *Store { return &Store{s: s, o: o} }

// Reply sizes for deadlines: a list line is about 85 bytes; a read-back carries up to a whole
// line buffer of content.
const (
	listReply   = 64 * 85
	readReply   = 4096 + 100
	keygenReply = 1200
	tokenReply  = 600
)

// exec runs one command and turns the modem's refusals into *ModemError.
func (c *Store) exec(ctx context.Context, op string, k opKind, typ Type, cmd at.Cmd) (*at.Response, error) {
	// The session scrubs what came back for secret commands and counts a shell's echo in the
	// deadline.
	resp, err := c.s.Exec(ctx, cmd)
	if err == nil {
		return resp, nil
	}
	var ce *at.CMEError
	var er *at.ErrorResult
	switch {
	case errors.As(err, &ce):
		return nil, newModemError(op, k, typ, ce.Code, err)
	case errors.As(err, &er):
		return nil, newModemError(op, k, typ, CodePlainError, err)
	}
	return nil, fmt.Errorf("cmng: %s: %w", op, err)
}

// truncated turns a timeout after part of an answer arrived (lines starting with prefix, the
// answer's own) into a *TruncatedError; a timeout with nothing, or only an echo, received stays
// a timeout.
func truncated(op, prefix string, err error) error {
	var te *at.TimeoutError
	if !errors.As(err, &te) {
		return err
	}
	n, started := 0, false
	for _, l := range append(append([]string(nil), te.Lines...), te.Partial) {
		if l == "" {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			started = true
		}
		if started {
			n += len(l)
		}
	}
	if !started {
		return err
	}
	reason := "no final result code"
	if te.InQuote {
		reason = "no closing quote, no final result code"
	}
	return &TruncatedError{Op: op, Received: n, Reason: reason, Err: err}
}

func tagType(tag uint32, typ Type) string {
	return fmt.Sprintf("sec_tag %d type %s", tag, typ)
}

// List lists every credential (AT%CMNG=1).
func (c *Store) List(ctx context.Context) ([]Entry, error) {
	return c.list(ctx, "list", "AT%CMNG=1")
}

// ListTag lists the credentials of one sec_tag (AT%CMNG=1,<tag>).
func (c *Store) ListTag(ctx context.Context, tag uint32) ([]Entry, error) {
	return c.list(ctx, fmt.Sprintf("list sec_tag %d", tag), "AT%CMNG=1,"+strconv.FormatUint(uint64(tag), 10))
}

func (c *Store) list(ctx context.Context, op, cmd string) ([]Entry, error) {
	resp, err := c.exec(ctx, op, opList, 0, at.Cmd{Text: cmd, Reply: listReply})
	if err != nil {
		return nil, truncated(op, listPrefix, err)
	}
	es, err := ParseList(resp.Lines)
	if err != nil {
		return nil, fmt.Errorf("cmng: %s: %w", op, err)
	}
	return es, nil
}

// Get lists one credential (AT%CMNG=1,<tag>,<type>); nil, nil when the modem has none.
func (c *Store) Get(ctx context.Context, tag uint32, typ Type) (*Entry, error) {
	op := "get " + tagType(tag, typ)
	es, err := c.list(ctx, op, fmt.Sprintf("AT%%CMNG=1,%d,%d", tag, int(typ)))
	if err != nil {
		return nil, err
	}
	var found *Entry
	for i := range es {
		if es[i].SecTag == tag && es[i].Type == typ {
			found = &es[i]
		}
	}
	return found, nil
}

// Read reads a credential back (AT%CMNG=2). Only types 0 and 4 can be read; others fail with
// *NotReadableError before anything is sent. An answer cut short is a *TruncatedError.
func (c *Store) Read(ctx context.Context, tag uint32, typ Type) (Entry, []byte, error) {
	op := "read " + tagType(tag, typ)
	if !typ.Readable() {
		return Entry{}, nil, &NotReadableError{SecTag: tag, Type: typ}
	}
	resp, err := c.exec(ctx, op, opRead, typ, at.Cmd{Text: fmt.Sprintf("AT%%CMNG=2,%d,%d", tag, int(typ)), Reply: readReply})
	if err != nil {
		return Entry{}, nil, truncated(op, listPrefix, err)
	}
	e, content, err := ParseRead(resp.Lines)
	if err != nil {
		var tr *TruncatedError
		if errors.As(err, &tr) {
			tr.Op = op
			return Entry{}, nil, tr
		}
		return Entry{}, nil, fmt.Errorf("cmng: %s: %w", op, err)
	}
	if e.SecTag != tag || e.Type != typ {
		return Entry{}, nil, fmt.Errorf("cmng: %s: %w: the modem answered for sec_tag %d type %s", op, ErrMalformed, e.SecTag, e.Type)
	}
	return e, content, nil
}

// SHA256Hex is the uppercase hex SHA-256 the modem lists for content.
func SHA256Hex(content []byte) string {
	sum := sha256.Sum256(content)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Stored is what the modem stores when content is written in the dialect: the bytes as they
// are for raw AT; with CR LF line breaks through the shell (lib/at_shell unescapes \n to CR LF).
// Preflight refuses content for which Stored differs from content: nrfprov never stores other
// bytes than asked.
func Stored(content []byte, d at.Dialect) []byte {
	if d == at.Shell {
		return []byte(at.ShellStored(string(content)))
	}
	return content
}

// Preflight checks a write against the session's dialect and terminator (a CR LF terminator
// leaves its CR in at_host's line buffer) and the Store's options.
func (c *Store) Preflight(tag uint64, typ Type, content []byte) error {
	cfg := c.s.Config()
	extra := 0
	if cfg.Dialect == at.Raw && cfg.Terminator == at.TermCRLF {
		extra = 1
	}
	return preflight(tag, typ, content, cfg.Dialect, extra, c.o)
}

// Write writes a credential (AT%CMNG=0) after Preflight, then lists it to verify: it returns the
// listed entry. When the modem lists a real hash, it must be the SHA-256 of the content as
// stored (Stored), else *VerifyError; a placeholder or absent hash (or firmware whose hashes
// are not trusted, once FirmwareVersion has been read) is returned as listed, unproven. Secret
// content is sent marked secret: traces and errors show its SHA-256 only.
func (c *Store) Write(ctx context.Context, tag uint32, typ Type, content []byte) (Entry, error) {
	op := "write " + tagType(tag, typ)
	want, err := c.put(ctx, op, tag, typ, content)
	if err != nil {
		return Entry{}, err
	}
	e, err := c.Get(ctx, tag, typ)
	if err != nil {
		return Entry{}, fmt.Errorf("cmng: %s: written, but listing it to verify failed: %w", op, err)
	}
	if e == nil {
		return Entry{}, &VerifyError{Op: op, SecTag: tag, Type: typ, Want: want,
			Reason: "the modem answered OK but does not list the credential"}
	}
	if e.Hash != HashReal || (c.fw != nil && !c.fw.RealHashes()) {
		return *e, nil
	}
	if e.SHA256 != want {
		return *e, &VerifyError{Op: op, SecTag: tag, Type: typ, Want: want, Got: e.SHA256,
			Reason: "the modem holds different content than was sent"}
	}
	return *e, nil
}

// Put writes a credential (AT%CMNG=0) after Preflight and does not list it: the caller proves
// the write by a later listing (a provisioning run lists once after all of its writes).
func (c *Store) Put(ctx context.Context, tag uint32, typ Type, content []byte) error {
	_, err := c.put(ctx, "write "+tagType(tag, typ), tag, typ, content)
	return err
}

// put sends the write and returns the SHA-256 the modem should list for it.
func (c *Store) put(ctx context.Context, op string, tag uint32, typ Type, content []byte) (string, error) {
	if err := c.Preflight(uint64(tag), typ, content); err != nil {
		return "", err
	}
	want := SHA256Hex(Stored(content, c.s.Config().Dialect))
	cmd := at.Cmd{Text: WriteCommand(uint64(tag), typ, content), Writes: true}
	if typ.Secret() {
		cmd.Secret = true
		cmd.Redacted = fmt.Sprintf("AT%%CMNG=0,%d,%d,<sha256:%s>", tag, int(typ), want)
	}
	if _, err := c.exec(ctx, op, opWrite, typ, cmd); err != nil {
		return "", err
	}
	return want, nil
}

// Delete deletes a credential (AT%CMNG=3).
func (c *Store) Delete(ctx context.Context, tag uint32, typ Type) error {
	op := "delete " + tagType(tag, typ)
	_, err := c.exec(ctx, op, opDelete, typ, at.Cmd{Text: fmt.Sprintf("AT%%CMNG=3,%d,%d", tag, int(typ)), Writes: true})
	return err
}

// DeleteAll deletes every listed credential in the user range (sec_tag <= 2147483647), never the
// modem's own, and returns what it deleted — also when it stops at an error.
func (c *Store) DeleteAll(ctx context.Context) ([]Entry, error) {
	es, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	var done []Entry
	for _, e := range es {
		if e.ModemOwned || e.SecTag > MaxUserTag {
			continue
		}
		if err := c.Delete(ctx, e.SecTag, e.Type); err != nil {
			return done, err
		}
		done = append(done, e)
	}
	return done, nil
}

// KeyGen makes the modem generate a private key in sec_tag (type 2) and return a CSR for it:
// AT%KEYGEN=<tag>,2,0[,"<attributes>"]. The CSR is decoded and checked as ParseKeyGen does; on
// a digest mismatch the CSR comes back with a *VerifyError. Attributes are a subject such as
// "O=Acme,CN=device-1" (no double quotes).
func (c *Store) KeyGen(ctx context.Context, tag uint32, attributes string) (*CSR, error) {
	op := fmt.Sprintf("keygen sec_tag %d", tag)
	if strings.ContainsAny(attributes, "\"\r\n\x00\x08\x7f") {
		return nil, &PreflightError{SecTag: uint64(tag), Type: ClientKey, Reason: "attributes contain a double quote or a control character",
			Fix: `give attributes as O=...,CN=... without quotes`}
	}
	if tag > MaxUserTag {
		return nil, &PreflightError{SecTag: uint64(tag), Type: ClientKey, Reason: "sec_tag above 2147483647 is reserved for the modem",
			Fix: "use a sec_tag in 0–2147483647"}
	}
	cmd := fmt.Sprintf("AT%%KEYGEN=%d,2,0", tag)
	if attributes != "" {
		cmd += `,"` + attributes + `"`
	}
	resp, err := c.exec(ctx, op, opKeyGen, ClientKey, at.Cmd{Text: cmd, Writes: true, Reply: keygenReply})
	if err != nil {
		return nil, truncated(op, "%KEYGEN:", err)
	}
	blob, err := quotedAnswer(resp.Lines, "%KEYGEN:")
	if err != nil {
		return nil, fmt.Errorf("cmng: %s: %w", op, err)
	}
	csr, err := ParseKeyGen(blob)
	var ve *VerifyError
	if errors.As(err, &ve) {
		ve.Op, ve.SecTag, ve.Type = op, tag, ClientKey
		return csr, ve
	}
	if err != nil {
		return csr, fmt.Errorf("cmng: %s: %w", op, err)
	}
	if csr.SecTag != tag {
		return csr, &VerifyError{Op: op, SecTag: tag, Type: ClientKey,
			Reason: fmt.Sprintf("the COSE_Sign1 payload names sec_tag %d", csr.SecTag)}
	}
	return csr, nil
}

// quotedAnswer finds the line starting with prefix and returns the text between its quotes.
func quotedAnswer(lines []string, prefix string) (string, error) {
	for _, l := range lines {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), prefix)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' || strings.Count(rest, `"`) != 2 {
			return "", malformed(l, "want "+prefix+` "<value>"`)
		}
		return rest[1 : len(rest)-1], nil
	}
	return "", fmt.Errorf("%w: no %s line in the answer", ErrMalformed, prefix)
}

// AttestToken returns the modem's attestation token (AT%ATTESTTOKEN), the text between the
// quotes: "<base64url message>.<base64url COSE_Sign1>".
func (c *Store) AttestToken(ctx context.Context) (string, error) {
	op := "attestation token"
	resp, err := c.exec(ctx, op, opOther, 0, at.Cmd{Text: "AT%ATTESTTOKEN", Reply: tokenReply})
	if err != nil {
		return "", truncated(op, "%ATTESTTOKEN:", err)
	}
	tok, err := quotedAnswer(resp.Lines, "%ATTESTTOKEN:")
	if err != nil {
		return "", fmt.Errorf("cmng: %s: %w", op, err)
	}
	body, cose, ok := strings.Cut(tok, ".")
	if !ok || body == "" || cose == "" || !isB64URL(body) || !isB64URL(cose) {
		return "", fmt.Errorf("cmng: %s: %w: want <base64url>.<base64url>", op, ErrMalformed)
	}
	return tok, nil
}

func isB64URL(s string) bool {
	_, err := decodeB64URL(s)
	return err == nil
}

// IMEI returns the modem's IMEI (AT+CGSN): 15 digits whose last is the Luhn check digit.
func (c *Store) IMEI(ctx context.Context) (string, error) {
	op := "imei"
	resp, err := c.exec(ctx, op, opOther, 0, at.Cmd{Text: "AT+CGSN"})
	if err != nil {
		return "", err
	}
	imei, err := ParseIMEI(resp.Lines)
	if err == nil {
		c.imei = imei
	}
	return imei, err
}

// ParseIMEI reads an AT+CGSN answer: the bare form (`352656100367872`) or the +CGSN: "…" form.
func ParseIMEI(lines []string) (string, error) {
	var cand []string
	for _, l := range lines {
		s := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(s, "+CGSN:"); ok {
			s = strings.Trim(strings.TrimSpace(rest), `"`)
		}
		if s != "" {
			cand = append(cand, s)
		}
	}
	if len(cand) != 1 {
		return "", fmt.Errorf("cmng: imei: %w: want one line, got %d", ErrMalformed, len(cand))
	}
	imei := cand[0]
	if len(imei) != 15 || !allDigitsN(imei) {
		return "", fmt.Errorf("cmng: imei: %w: %q is not 15 digits", ErrMalformed, imei)
	}
	if !luhnValid(imei) {
		return "", fmt.Errorf("cmng: imei: %w: %q fails its check digit", ErrMalformed, imei)
	}
	return imei, nil
}

func allDigitsN(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// luhnValid checks a number whose last digit is its Luhn check digit.
func luhnValid(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// ModemUUID returns the modem firmware build UUID (AT%XMODEMUUID).
func (c *Store) ModemUUID(ctx context.Context) (string, error) {
	op := "modem uuid"
	resp, err := c.exec(ctx, op, opOther, 0, at.Cmd{Text: "AT%XMODEMUUID"})
	if err != nil {
		return "", err
	}
	for _, l := range resp.Lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "%XMODEMUUID:"); ok {
			u := strings.TrimSpace(rest)
			if !isUUID(u) {
				return "", fmt.Errorf("cmng: %s: %w: %q is not a UUID", op, ErrMalformed, u)
			}
			return strings.ToLower(u), nil
		}
	}
	return "", fmt.Errorf("cmng: %s: %w: no %%XMODEMUUID line", op, ErrMalformed)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// FirmwareVersion reads the modem firmware version (AT+CGMR). The Store remembers it: Write
// then does not trust listed hashes of firmware whose hashes are not real.
func (c *Store) FirmwareVersion(ctx context.Context) (FirmwareVersion, error) {
	op := "firmware version"
	resp, err := c.exec(ctx, op, opOther, 0, at.Cmd{Text: "AT+CGMR"})
	if err != nil {
		return FirmwareVersion{}, err
	}
	var lines []string
	for _, l := range resp.Lines {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return FirmwareVersion{}, fmt.Errorf("cmng: %s: %w: want one line, got %d", op, ErrMalformed, len(lines))
	}
	v, err := ParseFirmwareVersion(lines[0])
	if err != nil {
		return FirmwareVersion{}, fmt.Errorf("cmng: %s: %w", op, err)
	}
	c.fw = &v
	return v, nil
}

// CFUN reads the modem's functional mode (AT+CFUN?).
func (c *Store) CFUN(ctx context.Context) (int, error) {
	op := "read functional mode"
	resp, err := c.exec(ctx, op, opOther, 0, at.Cmd{Text: "AT+CFUN?"})
	if err != nil {
		return 0, err
	}
	for _, l := range resp.Lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "+CFUN:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || n < 0 {
				return 0, fmt.Errorf("cmng: %s: %w", op, malformed(l, "not a number"))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("cmng: %s: %w: no +CFUN line", op, ErrMalformed)
}

// SetCFUN sets the modem's functional mode (AT+CFUN=<fun>): 4 is offline (flight mode), 1 normal,
// 0 power off. Going offline may take the modem a while (network detach), so it gets a write's
// deadline.
func (c *Store) SetCFUN(ctx context.Context, fun int) error {
	if fun < 0 {
		return fmt.Errorf("cmng: set functional mode %d: must not be negative", fun)
	}
	_, err := c.exec(ctx, fmt.Sprintf("set functional mode %d", fun), opOther, 0, at.Cmd{Text: "AT+CFUN=" + strconv.Itoa(fun), Writes: true})
	return err
}

// EnableCMEE makes the modem report errors as +CME ERROR: <n> (AT+CMEE=1).
func (c *Store) EnableCMEE(ctx context.Context) error {
	_, err := c.exec(ctx, "enable error codes", opOther, 0, at.Cmd{Text: "AT+CMEE=1"})
	return err
}
