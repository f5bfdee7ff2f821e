package cmng

import (
	"fmt"
	"strconv"
	"strings"
)

// HashKind says what the SHA-256 the modem lists for an entry is worth.
type HashKind string

const (
	// HashReal: a SHA-256 of the stored content (mfw >= 1.3.2 proves it; older firmware may
	// not, see FirmwareVersion.RealHashes).
	HashReal HashKind = "real"
	// HashPlaceholder: not a hash of the content — the type byte repeated 32 times (mfw
	// 0.7.0-alpha), or the same value listed for different types.
	HashPlaceholder HashKind = "placeholder"
	// HashAbsent: the modem listed no hash.
	HashAbsent HashKind = "absent"
)

// Entry is one credential as the modem lists it.
type Entry struct {
	SecTag     uint32   `json:"sec_tag"`
	Type       Type     `json:"type"`
	TypeName   string   `json:"type_name"`
	SHA256     string   `json:"sha256,omitempty"` // uppercase hex, as listed
	Hash       HashKind `json:"hash"`
	ModemOwned bool     `json:"modem_owned"` // sec_tag above the user range
}

const listPrefix = "%CMNG:"

// ParseList parses the lines of a %CMNG=1 answer (without the final OK): every
// `%CMNG: <tag>,<type>[,"<sha>"]` line, with or without spaces after the commas, sec_tags up to
// 4294967295, types up to 12. Blank lines are skipped. A hash equal to the type byte repeated 32
// times, or listed for different types of user entries, is marked HashPlaceholder. Any other
// line is an error naming it.
func ParseList(lines []string) ([]Entry, error) {
	var out []Entry
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		e, err := parseListLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	MarkSharedHashes(out)
	return out, nil
}

// MarkSharedHashes marks as placeholders the hashes that user entries of different types share:
// a certificate, a key and a PSK cannot have the same content, so such a value is not a hash of
// it. The modem's own entries are left out: a user may store the Nordic root CA (type 10) as a
// root CA (type 0) too, and Nordic's own list fixture shows exactly that (§1.6).
// ParseList applies it to one listing; a caller that joins several listings (one per sec_tag)
// applies it again to the whole.
func MarkSharedHashes(es []Entry) {
	types := map[string]map[Type]bool{}
	for _, e := range es {
		if e.ModemOwned || e.Hash != HashReal {
			continue
		}
		if types[e.SHA256] == nil {
			types[e.SHA256] = map[Type]bool{}
		}
		types[e.SHA256][e.Type] = true
	}
	for i := range es {
		e := &es[i]
		if !e.ModemOwned && e.Hash == HashReal && len(types[e.SHA256]) > 1 {
			e.Hash = HashPlaceholder
		}
	}
}

func malformed(line, why string) error {
	shown := line
	if len(shown) > 120 {
		shown = shown[:100] + fmt.Sprintf("…(%d bytes)", len(line))
	}
	return fmt.Errorf("%w: %s in %q", ErrMalformed, why, shown)
}

// parseListLine parses `%CMNG: <tag>,<type>[,"<sha>"]`.
func parseListLine(line string) (Entry, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), listPrefix)
	if !ok {
		return Entry{}, malformed(line, "not a %CMNG line")
	}
	fields := strings.Split(rest, ",")
	if len(fields) < 2 || len(fields) > 3 {
		return Entry{}, malformed(line, "want <sec_tag>,<type>[,\"<sha256>\"]")
	}
	tag, typ, err := parseTagType(fields[0], fields[1])
	if err != nil {
		return Entry{}, malformed(line, err.Error())
	}
	e := newEntry(tag, typ)
	if len(fields) == 3 {
		q := strings.TrimSpace(fields[2])
		if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
			return Entry{}, malformed(line, "hash not in double quotes")
		}
		if err := e.setHash(q[1 : len(q)-1]); err != nil {
			return Entry{}, malformed(line, err.Error())
		}
	}
	return e, nil
}

func newEntry(tag uint32, typ Type) Entry {
	return Entry{SecTag: tag, Type: typ, TypeName: typ.String(), Hash: HashAbsent, ModemOwned: tag > MaxUserTag}
}

// setHash records a listed hash: 64 hex digits; the placeholder pattern is recognised.
func (e *Entry) setHash(h string) error {
	if len(h) != 64 {
		return fmt.Errorf("hash has %d characters, want 64 hex digits", len(h))
	}
	for i := 0; i < len(h); i++ {
		if !isHex(h[i]) {
			return fmt.Errorf("hash has a non-hex character at %d", i)
		}
	}
	e.SHA256 = strings.ToUpper(h)
	e.Hash = HashReal
	if e.SHA256 == placeholderHash(e.Type) {
		e.Hash = HashPlaceholder
	}
	return nil
}

// placeholderHash is what mfw 0.7.0-alpha lists instead of a hash: the type number as a byte,
// 32 times (§1.7).
func placeholderHash(t Type) string {
	return strings.Repeat(fmt.Sprintf("%02X", int(t)&0xff), 32)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// parseTagType reads the sec_tag (0–4294967295) and type (0–12) fields; a space may precede
// either.
func parseTagType(tagField, typeField string) (uint32, Type, error) {
	ts := strings.TrimLeft(tagField, " ")
	if !allDigits(ts) {
		return 0, 0, fmt.Errorf("sec_tag %q is not a number", tagField)
	}
	tag, err := strconv.ParseUint(ts, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("sec_tag %q out of range 0–4294967295", ts)
	}
	ys := strings.TrimLeft(typeField, " ")
	if !allDigits(ys) {
		return 0, 0, fmt.Errorf("type %q is not a number", typeField)
	}
	typ, err := strconv.Atoi(ys)
	if err != nil || typ > int(MaxType) {
		return 0, 0, fmt.Errorf("type %q out of range 0–%d", ys, MaxType)
	}
	return uint32(tag), Type(typ), nil
}

func allDigits(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseRead parses a %CMNG=2 answer: `%CMNG: <tag>,<type>,"<sha>","<content>"`. The content is
// everything between the third and the fourth double quote, CR and LF included (the modem gives
// it back exactly as written, §1.4). A line whose closing quote is missing is a
// *TruncatedError; blank lines are skipped; any other line is an error.
func ParseRead(lines []string) (Entry, []byte, error) {
	var line string
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n == 0 {
			line = l
		}
		n++
	}
	if n == 0 {
		return Entry{}, nil, fmt.Errorf("%w: no %%CMNG line in the read-back", ErrMalformed)
	}
	head := strings.TrimLeft(line, " \r\n")
	rest, ok := strings.CutPrefix(head, listPrefix)
	if !ok {
		return Entry{}, nil, malformed(firstLine(line), "not a %CMNG read-back")
	}
	q := quoteIndexes(rest, 4)
	if len(q) < 3 {
		return Entry{}, nil, malformed(firstLine(line), "want <sec_tag>,<type>,\"<sha256>\",\"<content>\"")
	}
	if len(q) < 4 {
		return Entry{}, nil, &TruncatedError{Op: "read", Received: len(line), Reason: "the content has no closing quote"}
	}
	if n > 1 {
		return Entry{}, nil, fmt.Errorf("%w: %d lines after the read-back, want none", ErrMalformed, n-1)
	}
	// rest = <tag>,<type>,"<sha>","<content>"
	head3 := rest[:q[0]]
	fields := strings.Split(head3, ",")
	if len(fields) != 3 || strings.TrimSpace(fields[2]) != "" {
		return Entry{}, nil, malformed(firstLine(line), "want <sec_tag>,<type>, before the hash")
	}
	tag, typ, err := parseTagType(fields[0], fields[1])
	if err != nil {
		return Entry{}, nil, malformed(firstLine(line), err.Error())
	}
	if sep := strings.TrimSpace(rest[q[1]+1 : q[2]]); sep != "," {
		return Entry{}, nil, malformed(firstLine(line), "want a comma between hash and content")
	}
	if tail := strings.TrimSpace(rest[q[3]+1:]); tail != "" {
		return Entry{}, nil, malformed(firstLine(line), "text after the content's closing quote")
	}
	e := newEntry(tag, typ)
	if err := e.setHash(rest[q[0]+1 : q[1]]); err != nil {
		return Entry{}, nil, malformed(firstLine(line), err.Error())
	}
	return e, []byte(rest[q[2]+1 : q[3]]), nil
}

// quoteIndexes returns the positions of the first max double quotes in s.
func quoteIndexes(s string, max int) []int {
	var q []int
	for i := 0; i < len(s) && len(q) < max; i++ {
		if s[i] == '"' {
			q = append(q, i)
		}
	}
	return q
}

// firstLine keeps error messages to the head of a multi-line read-back (never the content).
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
