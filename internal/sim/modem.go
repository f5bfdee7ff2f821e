package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CME error codes the modem uses for %CMNG and %KEYGEN (modem-cmng-athost.md §1.8).
const (
	cmeNotFound       = 513
	cmeNoAccess       = 514
	cmeMemoryFull     = 515
	cmeNotAllowed     = 518
	cmeAlreadyExists  = 519
	cmeKeygenFailed   = 523
	cmeInvalidContent = 527
	cmePowerOffWarn   = 528
)

// modemResult is the modem's answer to one command, as nrf_modem_at_cmd delivers it: every line
// ends in CR LF and there is no leading CR LF.
type modemResult struct {
	out     []byte
	latency time.Duration
	// hang means the modem never answers this command (the 0.7.0 write hang, or a hang fault).
	hang bool
}

// modemTiming is how long the modem takes to answer.
type modemTiming struct {
	command time.Duration // any command
	write   time.Duration // extra, per %CMNG write or delete (NVM write)
	keygen  time.Duration // extra, per %KEYGEN
}

// modem models the nRF91 modem's AT interpreter: power state, error reporting mode, the %CMNG
// credential store in NVM, identification, %KEYGEN and %ATTESTTOKEN.
type modem struct {
	prof   Profile
	nvm    *nvm
	timing modemTiming
	rnd    io.Reader

	imei    string
	devUUID [16]byte

	cfun int
	cmee int

	// switches set from the control endpoint
	powerOffWarning bool
	capacity        int // maximum number of user credentials; 0 = no limit
}

// boot puts the modem in its power-on state: functional mode 0, plain ERROR replies.
func (m *modem) boot() {
	m.cfun = 0
	m.cmee = 0
}

func (m *modem) ok(body string) modemResult {
	return modemResult{out: []byte(body + "OK\r\n"), latency: m.timing.command}
}

func (m *modem) errorPlain() modemResult {
	return modemResult{out: []byte("ERROR\r\n"), latency: m.timing.command}
}

// cme answers a CME error the way +CMEE selects: plain ERROR when 0, the number otherwise.
func (m *modem) cme(code int) modemResult {
	if m.cmee == 0 {
		return m.errorPlain()
	}
	return modemResult{out: fmt.Appendf(nil, "+CME ERROR: %d\r\n", code), latency: m.timing.command}
}

// active reports whether the modem is in a mode where %CMNG writes and deletes are refused.
func (m *modem) active() bool {
	return m.cfun == 1 || m.cfun == 2 || m.cfun == 21
}

// exec runs one command line as at_host hands it to nrf_modem_at_cmd. The line may carry the
// host's stray line-ending bytes (a leading LF in CR mode, a trailing CR in CRLF mode); the modem
// tolerates them, as practice with Nordic's own tools shows (§2.3).
func (m *modem) exec(line []byte) modemResult {
	s := strings.Trim(string(line), " \r\n")
	if len(s) < 2 || !strings.EqualFold(s[:2], "AT") {
		return m.errorPlain()
	}
	s = s[2:]
	if s == "" {
		return m.ok("")
	}
	// Split the command name from its suffix: "", "?", "=?" or "=<args>".
	end := strings.IndexAny(s, "=?")
	if end < 0 {
		end = len(s)
	}
	name := strings.ToUpper(strings.TrimSpace(s[:end]))
	suffix := s[end:]
	switch name {
	case "+CFUN":
		return m.cmdCFUN(suffix)
	case "+CMEE":
		return m.cmdCMEE(suffix)
	case "+CGSN":
		return m.cmdCGSN(suffix)
	case "+CGMR":
		if suffix != "" {
			return m.errorPlain()
		}
		return m.ok(m.prof.Revision + "\r\n")
	case "+CGMM":
		if suffix != "" {
			return m.errorPlain()
		}
		return m.ok(m.prof.Model + "\r\n")
	case "+CGMI":
		if suffix != "" {
			return m.errorPlain()
		}
		return m.ok("Nordic Semiconductor ASA\r\n")
	case "%XMODEMUUID":
		if suffix != "" {
			return m.errorPlain()
		}
		return m.ok("%XMODEMUUID: " + m.prof.BuildUUID + "\r\n")
	case "%CMNG":
		return m.cmdCMNG(suffix)
	case "%KEYGEN":
		return m.cmdKEYGEN(suffix)
	case "%ATTESTTOKEN":
		return m.cmdATTESTTOKEN(suffix)
	}
	return m.errorPlain()
}

func (m *modem) cmdCFUN(suffix string) modemResult {
	switch {
	case suffix == "?":
		return m.ok(fmt.Sprintf("+CFUN: %d\r\n", m.cfun))
	case suffix == "=?":
		return m.ok("+CFUN: (0,1,4,20,21,30,31,40,41,44)\r\n")
	case strings.HasPrefix(suffix, "="):
		arg, ok := numberArg(suffix[1:])
		if !ok {
			return m.errorPlain()
		}
		fun, err := strconv.Atoi(arg)
		if err != nil {
			return m.errorPlain()
		}
		switch fun {
		case 0, 1, 4, 20, 21, 30, 31, 40, 41, 44:
			m.cfun = fun
			return m.ok("")
		}
		return m.errorPlain()
	}
	return m.errorPlain()
}

func (m *modem) cmdCMEE(suffix string) modemResult {
	switch {
	case suffix == "?":
		return m.ok(fmt.Sprintf("+CMEE: %d\r\n", m.cmee))
	case suffix == "=?":
		return m.ok("+CMEE: (0-2)\r\n")
	case strings.HasPrefix(suffix, "="):
		arg, ok := numberArg(suffix[1:])
		if !ok {
			return m.errorPlain()
		}
		// 2 (verbose) is accepted and still reports numbers, as a field report shows (F2).
		switch arg {
		case "0", "1", "2":
			m.cmee = int(arg[0] - '0')
		default:
			return m.errorPlain()
		}
		return m.ok("")
	}
	return m.errorPlain()
}

func (m *modem) cmdCGSN(suffix string) modemResult {
	snt := "0"
	switch {
	case suffix == "":
	case suffix == "=?":
		return m.ok("+CGSN: (0-3)\r\n")
	case strings.HasPrefix(suffix, "="):
		arg, ok := numberArg(suffix[1:])
		if !ok {
			return m.errorPlain()
		}
		snt = arg
	default:
		return m.errorPlain()
	}
	switch snt {
	case "0":
		return m.ok(m.imei + "\r\n")
	case "1":
		return m.ok(`+CGSN: "` + m.imei + "\"\r\n")
	case "2":
		return m.ok(`+CGSN: "` + m.imei[:14] + "01\"\r\n")
	case "3":
		return m.ok("+CGSN: \"01\"\r\n")
	}
	return m.errorPlain()
}

// numberArg reads the one bare parameter of a set command such as +CFUN=<fun>.
func numberArg(params string) (string, bool) {
	args, err := splitArgs(params)
	if err != nil || len(args) != 1 || args[0].quoted {
		return "", false
	}
	return args[0].s, true
}

// hashOf is the digest the modem reports for a stored credential: the uppercase SHA-256 of the
// exact stored bytes, or on placeholder firmware the type number repeated 32 times.
func (m *modem) hashOf(k credKey, content []byte) string {
	if m.prof.PlaceholderHashes {
		return strings.Repeat(fmt.Sprintf("%02X", k.Type), 32)
	}
	return sha256Upper(content)
}

// parseTag reads a sec_tag parameter (0–4294967295).
func parseTag(a atArg) (uint64, bool) {
	if a.quoted || a.s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(a.s, 10, 32)
	return v, err == nil
}

func parseSmallInt(a atArg) (int, bool) {
	if a.quoted || a.s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(a.s, 10, 8)
	return int(v), err == nil
}

func (m *modem) cmdCMNG(suffix string) modemResult {
	// Only the set form exists; the read and test forms are not supported.
	if !strings.HasPrefix(suffix, "=") || suffix == "=?" {
		return m.errorPlain()
	}
	args, err := splitArgs(suffix[1:])
	if err != nil || len(args) == 0 {
		return m.errorPlain()
	}
	op, ok := parseSmallInt(args[0])
	if !ok {
		return m.errorPlain()
	}
	switch op {
	case 0:
		return m.cmngWrite(args[1:])
	case 1:
		return m.cmngList(args[1:])
	case 2:
		return m.cmngRead(args[1:])
	case 3:
		return m.cmngDelete(args[1:])
	}
	return m.errorPlain()
}

// tagAndType parses the <sec_tag>,<type> pair shared by write, read and delete.
func (m *modem) tagAndType(args []atArg) (credKey, bool) {
	if len(args) < 2 {
		return credKey{}, false
	}
	tag, ok := parseTag(args[0])
	if !ok {
		return credKey{}, false
	}
	typ, ok := parseSmallInt(args[1])
	if !ok || typ > m.prof.MaxType {
		return credKey{}, false
	}
	return credKey{Tag: uint32(tag), Type: typ}, true
}

func (m *modem) cmngWrite(args []atArg) modemResult {
	if len(args) < 3 || len(args) > 4 {
		return m.errorPlain()
	}
	k, ok := m.tagAndType(args)
	if !ok || !args[2].quoted || args[2].s == "" {
		return m.errorPlain()
	}
	if len(args) == 4 && (!args[3].quoted || len(args[3].s) > 32) {
		return m.errorPlain()
	}
	content := []byte(args[2].s)
	if m.nvm.brokenStorage {
		return modemResult{hang: true}
	}
	switch {
	case m.prof.PowerOffWarning && m.powerOffWarning:
		return m.cme(cmePowerOffWarn)
	case m.active():
		return m.cme(cmeNotAllowed)
	case m.prof.modemOwned(k):
		// Nordic documents no access (514) for the modem's own items (modem-cmng-athost.md §1.8).
		return m.cme(cmeNoAccess)
	case uint64(k.Tag) > maxUserTag && !(m.prof.DecryptTags && uint64(k.Tag) >= firstDecryptTag && uint64(k.Tag) <= lastDecryptTag):
		return m.cme(cmeNoAccess)
	case k.Type > 4:
		// Type 5 is written with %XPMNG; 6 and up belong to the modem.
		return m.cme(cmeNoAccess)
	}
	if _, exists := m.nvm.creds[k]; !exists && m.capacity > 0 && len(m.nvm.creds) >= m.capacity {
		return m.cme(cmeMemoryFull)
	}
	if m.prof.ValidatePEM && (k.Type == 0 || k.Type == 1) && !validCertificatePEM(content) {
		return m.cme(cmeInvalidContent)
	}
	if m.prof.HangWritesOver > 0 && len(content) > m.prof.HangWritesOver {
		// The seed report: the modem lists the credential afterwards, but holds only part of it.
		if err := m.nvm.put(k, content[:m.prof.HangWritesOver]); err != nil {
			return m.storageFailure(err)
		}
		return modemResult{hang: true}
	}
	if err := m.nvm.put(k, content); err != nil {
		return m.storageFailure(err)
	}
	r := m.ok("")
	r.latency += m.timing.write
	return r
}

// storageFailure is what the model answers when its own state file cannot be written: the
// 3GPP "memory failure" code, so that a test sees a failure instead of a silent loss.
func (m *modem) storageFailure(error) modemResult {
	return m.cme(23)
}

func (m *modem) cmngList(args []atArg) modemResult {
	var filterTag *uint64
	filterType := -1
	switch len(args) {
	case 0:
	case 1, 2:
		tag, ok := parseTag(args[0])
		if !ok {
			return m.errorPlain()
		}
		filterTag = &tag
		if len(args) == 2 {
			typ, ok := parseSmallInt(args[1])
			if !ok || typ > m.prof.MaxType {
				return m.errorPlain()
			}
			filterType = typ
		}
	default:
		return m.errorPlain()
	}
	var b strings.Builder
	emit := func(k credKey, content []byte) {
		if filterTag != nil && uint64(k.Tag) != *filterTag {
			return
		}
		if filterType >= 0 && k.Type != filterType {
			return
		}
		fmt.Fprintf(&b, "%%CMNG: %d,%d,\"%s\"\r\n", k.Tag, k.Type, m.hashOf(k, content))
	}
	for _, k := range m.nvm.keys() {
		emit(k, m.nvm.creds[k])
	}
	for _, k := range m.prof.ModemOwned {
		emit(k, m.nvm.modemOwnedContent(k))
	}
	return m.ok(b.String())
}

func (m *modem) cmngRead(args []atArg) modemResult {
	if len(args) != 2 {
		return m.errorPlain()
	}
	k, ok := m.tagAndType(args)
	if !ok {
		return m.errorPlain()
	}
	if m.prof.PowerOffWarning && m.powerOffWarning {
		return m.cme(cmePowerOffWarn)
	}
	content, exists := m.nvm.creds[k]
	if m.prof.modemOwned(k) {
		content, exists = m.nvm.modemOwnedContent(k), true
	}
	if !exists {
		return m.cme(cmeNotFound)
	}
	if !m.prof.readable(k.Type) {
		return m.cme(cmeNoAccess)
	}
	return m.ok(fmt.Sprintf("%%CMNG: %d,%d,\"%s\",\"%s\"\r\n", k.Tag, k.Type, m.hashOf(k, content), content))
}

func (m *modem) cmngDelete(args []atArg) modemResult {
	if len(args) != 2 {
		return m.errorPlain()
	}
	k, ok := m.tagAndType(args)
	if !ok {
		return m.errorPlain()
	}
	switch {
	case m.prof.PowerOffWarning && m.powerOffWarning:
		return m.cme(cmePowerOffWarn)
	case m.active():
		return m.cme(cmeNotAllowed)
	case m.prof.modemOwned(k):
		// Nordic documents no access (514) for the modem's own items (modem-cmng-athost.md §1.8).
		return m.cme(cmeNoAccess)
	}
	if _, exists := m.nvm.creds[k]; !exists {
		return m.cme(cmeNotFound)
	}
	if m.nvm.brokenStorage {
		return modemResult{hang: true}
	}
	if err := m.nvm.remove(k); err != nil {
		return m.storageFailure(err)
	}
	r := m.ok("")
	r.latency += m.timing.write
	return r
}

// cmdKEYGEN: %KEYGEN=<sec_tag>,<key_type>[,<response_content>][,"<attributes>"][,<key_usage>].
// A new P-256 key is generated and kept inside the model; only the CSR (or public key) leaves it.
func (m *modem) cmdKEYGEN(suffix string) modemResult {
	if !m.prof.KeyGen || !strings.HasPrefix(suffix, "=") || suffix == "=?" {
		return m.errorPlain()
	}
	args, err := splitArgs(suffix[1:])
	if err != nil || len(args) < 2 || len(args) > 5 {
		return m.errorPlain()
	}
	tag, ok := parseTag(args[0])
	if !ok || tag > maxUserTag {
		return m.errorPlain()
	}
	keyType, ok := parseSmallInt(args[1])
	if !ok || (keyType != 2 && keyType != 8) {
		return m.errorPlain()
	}
	respContent := 0
	if len(args) >= 3 && args[2].s != "" {
		if respContent, ok = parseSmallInt(args[2]); !ok || respContent > 1 {
			return m.errorPlain()
		}
	}
	attrs := ""
	if len(args) >= 4 {
		if args[3].s != "" && !args[3].quoted {
			return m.errorPlain()
		}
		attrs = args[3].s
	}
	switch {
	case m.prof.PowerOffWarning && m.powerOffWarning:
		return m.cme(cmePowerOffWarn)
	case m.cfun != 0 && m.cfun != 4:
		return m.cme(cmeNotAllowed)
	}
	k := credKey{Tag: uint32(tag), Type: keyType}
	if _, exists := m.nvm.creds[k]; exists {
		return m.cme(cmeAlreadyExists)
	}
	if m.nvm.brokenStorage {
		return modemResult{hang: true}
	}
	if m.capacity > 0 && len(m.nvm.creds) >= m.capacity {
		return m.cme(cmeMemoryFull)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), m.rnd)
	if err != nil {
		return m.cme(cmeKeygenFailed)
	}
	res, err := makeKeygen(m.rnd, m.nvm.identity, m.devUUID, uint32(tag), key, respContent, attrs)
	if err != nil {
		if errors.Is(err, errBadAttributes) {
			return m.errorPlain()
		}
		return m.cme(cmeKeygenFailed)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return m.cme(cmeKeygenFailed)
	}
	if err := m.nvm.put(k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return m.storageFailure(err)
	}
	r := m.ok("%KEYGEN: \"" + res.String() + "\"\r\n")
	r.latency += m.timing.keygen
	return r
}

// cmdATTESTTOKEN: %ATTESTTOKEN[=<challenge>] with an optional 32-hex-digit challenge.
func (m *modem) cmdATTESTTOKEN(suffix string) modemResult {
	if !m.prof.KeyGen {
		return m.errorPlain()
	}
	var challenge []byte
	switch {
	case suffix == "":
	case strings.HasPrefix(suffix, "=") && suffix != "=?":
		args, err := splitArgs(suffix[1:])
		if err != nil || len(args) != 1 {
			return m.errorPlain()
		}
		if args[0].s != "" {
			c, err := hex.DecodeString(args[0].s)
			if err != nil || len(c) != 16 {
				return m.errorPlain()
			}
			challenge = c
		}
	default:
		return m.errorPlain()
	}
	fw := buildUUIDBytes(m.prof.BuildUUID)
	res, err := makeAttestToken(m.rnd, m.nvm.identity, m.devUUID, fw, m.prof.DeviceType, challenge)
	if err != nil {
		return m.cme(cmeKeygenFailed)
	}
	return m.ok("%ATTESTTOKEN: \"" + res.String() + "\"\r\n")
}

func buildUUIDBytes(s string) [16]byte {
	var u [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err == nil {
		copy(u[:], b)
	}
	return u
}

// validCertificatePEM is the mfw 2.x content check for types 0 and 1: the content must be one
// or more PEM CERTIFICATE blocks holding parseable X.509, with nothing but whitespace around them.
// Both LF and CRLF line breaks pass; a literal backslash-n does not (field report F2).
func validCertificatePEM(content []byte) bool {
	rest := bytes.TrimSpace(content)
	if len(rest) == 0 {
		return false
	}
	for len(rest) > 0 {
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return false
		}
		block, r := pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return false
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return false
		}
		rest = bytes.TrimSpace(r)
	}
	return true
}

// atArg is one parameter of an extended AT command: either a bare token (spaces around it
// removed) or the exact bytes between a pair of double quotes.
type atArg struct {
	s      string
	quoted bool
}

var errATSyntax = errors.New("sim: AT parameter syntax")

// splitArgs splits the parameter list of a set command. Commas inside quotes belong to the
// string; there is no escape mechanism, so a string ends at the next double quote.
func splitArgs(s string) ([]atArg, error) {
	var args []atArg
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, errATSyntax
			}
			args = append(args, atArg{s: s[i+1 : i+1+j], quoted: true})
			i += j + 2
		} else {
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				j = len(s) - i
			}
			tok := strings.TrimSpace(s[i : i+j])
			if strings.ContainsAny(tok, "\"\r\n") {
				return nil, errATSyntax
			}
			args = append(args, atArg{s: tok})
			i += j
		}
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			return args, nil
		}
		if s[i] != ',' {
			return nil, errATSyntax
		}
		i++
	}
}
