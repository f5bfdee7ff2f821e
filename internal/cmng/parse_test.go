package cmng

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/at"
)

func TestParseType(t *testing.T) {
	for in, want := range map[string]Type{
		"0": RootCACert, "4": PSKID, "12": 12, "7": Reserved7, " 2 ": ClientKey,
		"ROOT_CA_CERT": RootCACert, "client_cert": ClientCert, "Client_Key": ClientKey, "psk": PSK,
		"PSK_ID": PSKID, "pub_key": PubKey, "DEV_ID_PUB_KEY": DevIDPubKey, "endorsement_key": EndorsementKey,
		"OWNERSHIP_KEY": OwnershipKey, "nordic_id_root_ca": NordicIDRootCA, "NORDIC_PUB_KEY": NordicPubKey,
		"TYPE_7": Reserved7, "type_12": 12,
	} {
		got, err := ParseType(in)
		if err != nil || got != want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "13", "-1", "+1", "CA", "ROOT", "1.0", "TYPE_13", "99999999999999999999"} {
		_, err := ParseType(in)
		if err == nil {
			t.Errorf("ParseType(%q): no error", in)
			continue
		}
		if in == "CA" && !strings.Contains(err.Error(), "ROOT_CA_CERT") || in == "CA" && !strings.Contains(err.Error(), "NORDIC_PUB_KEY") {
			t.Errorf("ParseType(%q): error %q does not list the names", in, err)
		}
	}
}

func TestTypeProperties(t *testing.T) {
	for ty := Type(0); ty <= MaxType; ty++ {
		s := ty.String()
		back, err := ParseType(s)
		if err != nil || back != ty {
			t.Errorf("String/ParseType round trip of %d: %q -> %v, %v", int(ty), s, back, err)
		}
		if want := ty == 0 || ty == 4; ty.Readable() != want {
			t.Errorf("%v.Readable() = %v", ty, !want)
		}
		if want := ty == 2 || ty == 3 || ty == 8 || ty == 9; ty.Secret() != want {
			t.Errorf("%v.Secret() = %v", ty, !want)
		}
	}
	if Reserved7.String() != "TYPE_7" || Type(12).String() != "TYPE_12" || Type(-3).String() != "TYPE_-3" {
		t.Errorf("unnamed types: %s %s %s", Reserved7, Type(12), Type(-3))
	}
}

// hashOf makes a distinct, valid 64-hex-digit hash.
func hashOf(s string) string { return SHA256Hex([]byte(s)) }

func TestParseListSeedPlaceholders(t *testing.T) {
	// The AT transcript of the field report (field-report-cmng-hang.txt), mfw 0.7.0-29.alpha.
	lines := []string{
		`%CMNG: 64738,0,"0000000000000000000000000000000000000000000000000000000000000000"`,
		`%CMNG: 64738,1,"0101010101010101010101010101010101010101010101010101010101010101"`,
		`%CMNG: 64738,2,"0202020202020202020202020202020202020202020202020202020202020202"`,
	}
	es, err := ParseList(lines)
	if err != nil || len(es) != 3 {
		t.Fatalf("ParseList: %+v, %v", es, err)
	}
	for i, e := range es {
		if e.SecTag != 64738 || e.Type != Type(i) || e.Hash != HashPlaceholder || e.ModemOwned || e.TypeName != Type(i).String() {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}

func TestParseListForms(t *testing.T) {
	ca, cert, key := hashOf("ca"), hashOf("cert"), hashOf("key")
	lines := []string{
		"",
		`%CMNG: 42,0,"` + ca + `"`,
		"   ",
		`%CMNG: 16842753,1,"` + strings.ToLower(cert) + `"`,
		`%CMNG: 16842753, 2, "` + key + `"`, // spaces after commas, as the doc prints them
		`%CMNG: 7,4`,                        // no hash
		`%CMNG:9,3`,                         // no space after the colon
		`%CMNG: 4294967293,10,"` + ca + `"`, // the Nordic root CA, also stored as a user root CA
		`%CMNG: 4294967294,6,"` + hashOf("id") + `"`,
		`%CMNG: 4294967292,11,"` + hashOf("base") + `"`,
		`%CMNG: 4294967295,12,"` + hashOf("12") + "\"\r",
	}
	es, err := ParseList(lines)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{SecTag: 42, Type: 0, SHA256: ca, Hash: HashReal},
		{SecTag: 16842753, Type: 1, SHA256: cert, Hash: HashReal},
		{SecTag: 16842753, Type: 2, SHA256: key, Hash: HashReal},
		{SecTag: 7, Type: 4, Hash: HashAbsent},
		{SecTag: 9, Type: 3, Hash: HashAbsent},
		{SecTag: 4294967293, Type: 10, SHA256: ca, Hash: HashReal, ModemOwned: true},
		{SecTag: 4294967294, Type: 6, SHA256: hashOf("id"), Hash: HashReal, ModemOwned: true},
		{SecTag: 4294967292, Type: 11, SHA256: hashOf("base"), Hash: HashReal, ModemOwned: true},
		{SecTag: 4294967295, Type: 12, SHA256: hashOf("12"), Hash: HashReal, ModemOwned: true},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(es), len(want), es)
	}
	for i := range want {
		want[i].TypeName = want[i].Type.String()
		if es[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, es[i], want[i])
		}
	}
	if es, err := ParseList(nil); err != nil || len(es) != 0 {
		t.Errorf("empty list: %+v, %v", es, err)
	}
}

func TestParseListSharedHashIsPlaceholder(t *testing.T) {
	h := hashOf("same")
	es, err := ParseList([]string{
		`%CMNG: 1,0,"` + h + `"`,
		`%CMNG: 1,1,"` + h + `"`,
		`%CMNG: 2,0,"` + h + `"`, // same type: identical content is possible, but the value is already suspect
		`%CMNG: 3,0,"` + hashOf("other") + `"`,
		`%CMNG: 5,0,"` + hashOf("dup") + `"`,
		`%CMNG: 6,0,"` + hashOf("dup") + `"`, // the same CA in two tags is normal
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []HashKind{HashPlaceholder, HashPlaceholder, HashPlaceholder, HashReal, HashReal, HashReal} {
		if es[i].Hash != want {
			t.Errorf("entry %d (%d,%d): hash %s, want %s", i, es[i].SecTag, es[i].Type, es[i].Hash, want)
		}
	}
}

func TestParseListMalformed(t *testing.T) {
	h := hashOf("x")
	for _, line := range []string{
		"garbage",
		"+CME ERROR: 513",
		`%CMNG: 1`,
		`%CMNG: a,0,"` + h + `"`,
		`%CMNG: -1,0,"` + h + `"`,
		`%CMNG: 4294967296,0,"` + h + `"`,
		`%CMNG: 1,13,"` + h + `"`,
		`%CMNG: 1,0,` + h,
		`%CMNG: 1,0,"` + h[:63] + `"`,
		`%CMNG: 1,0,"` + h[:63] + `G"`,
		`%CMNG: 1,0,"` + h + `",5`,
		`%CMNG: 1,0,"978C...02C4"`,
	} {
		_, err := ParseList([]string{`%CMNG: 1,0,"` + h + `"`, line})
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", line, err)
			continue
		}
		if !strings.Contains(err.Error(), line[:min(len(line), 8)]) {
			t.Errorf("%q: error %q does not name the line", line, err)
		}
	}
}

func TestParseRead(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\r\nMIIFLjCCBBagAwIBAgIJANuSwPfghLXl\r\nMA0GCSqGSIb3DQEBCwUA\r\n-----END CERTIFICATE-----\r\n"
	h := SHA256Hex([]byte(pem))
	e, content, err := ParseRead([]string{"", `%CMNG: 64738,0,"` + h + `","` + pem + `"`})
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != pem {
		t.Errorf("content %q, want %q", content, pem)
	}
	if e.SecTag != 64738 || e.Type != RootCACert || e.SHA256 != h || e.Hash != HashReal {
		t.Errorf("entry %+v", e)
	}
	// Placeholder hash of 0.7.0, spaces after the commas, LF-only content.
	e, content, err = ParseRead([]string{`%CMNG: 5, 4, "` + strings.Repeat("04", 32) + `", "id-1` + "\n" + `x"`})
	if err != nil || string(content) != "id-1\nx" || e.Hash != HashPlaceholder || e.Type != PSKID {
		t.Errorf("read with spaces: %+v, %q, %v", e, content, err)
	}
	// The seed's truncated read-back: no closing quote.
	_, _, err = ParseRead([]string{`%CMNG: 64738,0,"` + strings.Repeat("00", 32) + `","-----BEGIN CERTIFICATE-----` + "\r\nMIIF"})
	var tr *TruncatedError
	if !errors.As(err, &tr) || !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "CONFIG_AT_HOST_CMD_MAX_LEN") {
		t.Errorf("truncated read: %v, want *TruncatedError naming the fix", err)
	}
	for _, bad := range [][]string{
		nil,
		{"OK"},
		{`%CMNG: 1,0`},
		{`%CMNG: 1,0,"` + h + `"`},
		{`%CMNG: 1,0,"` + h + `","a"`, `%CMNG: 2,0,"` + h + `","b"`},
		{`%CMNG: 1,0,"` + h + `""a"`},
		{`%CMNG: 1,0,"` + h + `","a",7`},
		{`%CMNG: 1,0,"zz","a"`},
		{`%CMNG: 1,0,5,"` + h + `","a"`},
	} {
		if _, _, err := ParseRead(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseRead(%q): %v, want ErrMalformed", bad, err)
		}
	}
}

func TestPreflightRules(t *testing.T) {
	pem := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	ok := func(tag uint64, typ Type, c []byte, d at.Dialect, o Options) {
		t.Helper()
		if err := Preflight(tag, typ, c, d, o); err != nil {
			t.Errorf("Preflight(%d, %v, %q, %v): %v", tag, typ, c, d, err)
		}
	}
	bad := func(tag uint64, typ Type, c []byte, d at.Dialect, o Options, want string) {
		t.Helper()
		err := Preflight(tag, typ, c, d, o)
		var pe *PreflightError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPreflight) {
			t.Errorf("Preflight(%d, %v, %q, %v): %v, want *PreflightError", tag, typ, c, d, err)
			return
		}
		if pe.SecTag != tag || pe.Type != typ || pe.Fix == "" || !strings.Contains(pe.Reason, want) {
			t.Errorf("Preflight(%d, %v, %q, %v): %+v, want reason with %q", tag, typ, c, d, pe, want)
		}
	}
	raw, sh := at.Raw, at.Shell
	ok(42, RootCACert, pem, raw, Options{})
	ok(0, PSKID, []byte("id"), raw, Options{})
	ok(2147483647, PSK, []byte("0123abcd"), raw, Options{})
	// The shell stores every line break as CR LF: LF content would be stored as other bytes.
	ok(42, RootCACert, []byte(strings.ReplaceAll(string(pem), "\n", "\r\n")), sh, Options{})
	bad(42, RootCACert, pem, sh, Options{}, "LF line break at byte offset 27")
	bad(42, RootCACert, []byte("a\r\nb\n"), sh, Options{}, "LF line break at byte offset 4")
	ok(42, ClientCert, []byte("a\r\nb\r\n"), sh, Options{})
	ok(42, ClientCert, []byte("a\rb\ttab"), raw, Options{})
	ok(42, ClientCert, []byte("it's"), sh, Options{})
	bad(42, RootCACert, nil, raw, Options{}, "empty")
	bad(42, RootCACert, []byte("caf\xc3\xa9"), raw, Options{}, "non-ASCII")
	bad(42, RootCACert, []byte(`a"b`), raw, Options{}, "double quote")
	bad(42, RootCACert, []byte("a\x00b"), raw, Options{}, "NUL")
	bad(42, RootCACert, []byte("a\x08b"), raw, Options{}, "BS/DEL")
	bad(42, RootCACert, []byte("a\x7fb"), raw, Options{}, "BS/DEL")
	bad(42, RootCACert, []byte("a\rb"), sh, Options{}, "lone CR")
	bad(42, RootCACert, []byte("ab\r"), sh, Options{}, "lone CR")
	bad(42, RootCACert, []byte(`a\nb`), sh, Options{}, "backslash")
	bad(42, RootCACert, []byte("a\tb"), sh, Options{}, "control")
	bad(2147483648, RootCACert, pem, raw, Options{}, "reserved")
	ok(2147483648, RootCACert, pem, raw, Options{AllowReserved: true})
	bad(4294967296, RootCACert, pem, raw, Options{AllowReserved: true}, "out of range")
	bad(42, PubKey, pem, raw, Options{}, "not written")
	bad(42, NordicIDRootCA, pem, raw, Options{}, "not written")
	ok(4294967293, NordicIDRootCA, pem, raw, Options{AllowReserved: true})
	bad(42, 12, pem, raw, Options{AllowReserved: true}, "type 12")
	bad(42, 13, pem, raw, Options{AllowReserved: true}, "unknown")
	bad(42, -1, pem, raw, Options{}, "unknown")
}

func TestPreflightSecretsNotShown(t *testing.T) {
	key := []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\xe9\n-----END PRIVATE KEY-----\n")
	err := Preflight(1, ClientKey, key, at.Raw, Options{})
	if err == nil || strings.Contains(err.Error(), "E9") || strings.Contains(err.Error(), "MIGH") {
		t.Errorf("secret preflight error: %v", err)
	}
	if err := Preflight(1, RootCACert, []byte("ab\xe9"), at.Raw, Options{}); err == nil || !strings.Contains(err.Error(), "0xE9") {
		t.Errorf("non-secret preflight error should show the byte: %v", err)
	}
}

func TestPreflightLineLimit(t *testing.T) {
	// AT%CMNG=0,42,0,"" is 17 characters; content fills the rest.
	overhead := len(WriteCommand(42, RootCACert, nil))
	if overhead != 17 {
		t.Fatalf("overhead %d", overhead)
	}
	for _, limit := range []int{LineLimitATClient, LineLimitSLM, 100} {
		exact := []byte(strings.Repeat("A", limit-overhead))
		if n := len(WriteCommand(42, RootCACert, exact)); n != limit {
			t.Fatalf("command length %d, want %d", n, limit)
		}
		if err := Preflight(42, RootCACert, exact, at.Raw, Options{LineLimit: limit}); err != nil {
			t.Errorf("limit %d: a command of exactly the limit: %v", limit, err)
		}
		over := append(exact, 'A')
		err := Preflight(42, RootCACert, over, at.Raw, Options{LineLimit: limit})
		if !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), "over the device's line limit") {
			t.Errorf("limit %d: one byte over: %v", limit, err)
		}
	}
	// The default for the raw dialect is at_client's 4095.
	exact := []byte(strings.Repeat("A", LineLimitATClient-overhead))
	if err := Preflight(42, RootCACert, exact, at.Raw, Options{}); err != nil {
		t.Errorf("default raw limit: %v", err)
	}
	if err := Preflight(42, RootCACert, append(exact, 'A'), at.Raw, Options{}); !errors.Is(err, ErrPreflight) {
		t.Errorf("default raw limit, one over: %v", err)
	}
	// Longer tags and types make the command longer.
	c := []byte(strings.Repeat("A", 100-len(WriteCommand(2147483647, PSKID, nil))))
	if err := Preflight(2147483647, PSKID, c, at.Raw, Options{LineLimit: 100}); err != nil {
		t.Errorf("long tag at the limit: %v", err)
	}
	if err := Preflight(2147483647, PSKID, append(c, 'A'), at.Raw, Options{LineLimit: 100}); err == nil {
		t.Error("long tag one over: no error")
	}
}

func TestPreflightShellEscapingCounts(t *testing.T) {
	// at '<cmd>' adds 5 characters, and each CR LF line break becomes the two characters \n;
	// an apostrophe becomes \'.
	content := []byte(strings.Repeat("ABCDEFGHI\r\n", 20) + "it's")
	cmd := WriteCommand(42, RootCACert, content)
	shell := WireLength(cmd, at.Shell)
	if want := len(cmd) + 5 + 1; shell != want {
		t.Fatalf("shell length %d, want %d", shell, want)
	}
	if err := Preflight(42, RootCACert, content, at.Shell, Options{LineLimit: shell}); err != nil {
		t.Errorf("shell line exactly at the limit: %v", err)
	}
	if err := Preflight(42, RootCACert, content, at.Shell, Options{LineLimit: shell - 1}); !errors.Is(err, ErrPreflight) {
		t.Errorf("shell line one over: %v", err)
	}
	// The same content fits the raw dialect at a limit the shell form exceeds.
	if err := Preflight(42, RootCACert, content, at.Raw, Options{LineLimit: len(cmd)}); err != nil {
		t.Errorf("raw at its own length: %v", err)
	}
	if err := Preflight(42, RootCACert, content, at.Shell, Options{LineLimit: len(cmd)}); !errors.Is(err, ErrPreflight) {
		t.Errorf("shell at the raw length: %v", err)
	}
	// LF line breaks would count as one \n each, like CR LF (Preflight refuses them).
	lf := []byte(strings.ReplaceAll(string(content), "\r\n", "\n"))
	if got := WireLength(WriteCommand(42, RootCACert, lf), at.Shell); got != shell {
		t.Errorf("LF shell length %d, want %d", got, shell)
	}
	// The shell dialect's default limit is Modem Shell's.
	big := []byte(strings.Repeat("A", LineLimitModemShell-len(cmd)+len(content)))
	if err := Preflight(42, RootCACert, big, at.Shell, Options{}); !errors.Is(err, ErrPreflight) {
		t.Errorf("shell default limit: %v", err)
	}
}

func TestDefaultLineLimit(t *testing.T) {
	for p, want := range map[string]int{"at_client": 4095, "modem_shell": 3583, "serial_lte_modem": 4096, "": 4095} {
		if got := DefaultLineLimit(p); got != want {
			t.Errorf("DefaultLineLimit(%q) = %d, want %d", p, got, want)
		}
	}
}

func TestParseFirmwareVersion(t *testing.T) {
	for _, c := range []struct {
		in                    string
		prefix, family        string
		maj, min, patch       int
		suffix                string
		real, keygen, checked bool
	}{
		{"mfw_nrf9160_1.1.1", "mfw", "nrf9160", 1, 1, 1, "", false, false, false},
		{"mfw_nrf9160_1.3.0-FOTA-TEST", "mfw", "nrf9160", 1, 3, 0, "-FOTA-TEST", false, true, false},
		{"mfw_nrf9160_1.3.1", "mfw", "nrf9160", 1, 3, 1, "", false, true, false},
		{"mfw_nrf9160_1.3.2", "mfw", "nrf9160", 1, 3, 2, "", true, true, false},
		{"mfw_nrf9160_1.3.5", "mfw", "nrf9160", 1, 3, 5, "", true, true, false},
		{"mfw_nrf91x1_2.0.1", "mfw", "nrf91x1", 2, 0, 1, "", true, true, true},
		{"mfw_nrf9151-ntn_1.0.0-1.alpha", "mfw", "nrf9151-ntn", 1, 0, 0, "-1.alpha", true, true, true},
		{"mfw-pti_nrf91x1_2.3.3", "mfw-pti", "nrf91x1", 2, 3, 3, "", true, true, true},
		{"mfw_nrf9160_0.7.0-29.alpha", "mfw", "nrf9160", 0, 7, 0, "-29.alpha", false, false, false},
		{" mfw_nrf9160_1.4.0\r", "mfw", "nrf9160", 1, 4, 0, "", true, true, false},
	} {
		v, err := ParseFirmwareVersion(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if v.Raw != strings.TrimSpace(c.in) || v.Prefix != c.prefix || v.Family != c.family || v.Major != c.maj || v.Minor != c.min ||
			v.Patch != c.patch || v.Suffix != c.suffix {
			t.Errorf("%q: %+v", c.in, v)
		}
		if v.RealHashes() != c.real || v.KeyGen() != c.keygen || v.ValidatesPEM() != c.checked {
			t.Errorf("%q: RealHashes %v KeyGen %v ValidatesPEM %v", c.in, v.RealHashes(), v.KeyGen(), v.ValidatesPEM())
		}
		if v.Semver() != strings.Join([]string{strconv.Itoa(c.maj), strconv.Itoa(c.min), strconv.Itoa(c.patch)}, ".") {
			t.Errorf("%q: semver %s", c.in, v.Semver())
		}
	}
	for _, bad := range []string{"", "1.3.0", "mfw_nrf9160", "mfw_nrf9160_1.3", "mfw_nrf9160_1.x.0", "nrf_nrf9160_1.3.0", "ERROR"} {
		if _, err := ParseFirmwareVersion(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseIMEI(t *testing.T) {
	for _, in := range [][]string{{"352656100367872"}, {`+CGSN: "352656100367872"`}, {"", "352656100367872 "}} {
		if got, err := ParseIMEI(in); err != nil || got != "352656100367872" {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, in := range [][]string{nil, {"35265610036787"}, {"352656100367873"}, {"35265610036787x"}, {"352656100367872", "1"}} {
		if _, err := ParseIMEI(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", in, err)
		}
	}
}

func TestModemErrorMessages(t *testing.T) {
	for _, c := range []struct {
		code      int
		k         opKind
		typ       Type
		msg, hint string
	}{
		{513, opDelete, 0, "not found", "no credential"},
		{514, opRead, 1, "cannot be read back", "SHA-256"},
		{514, opWrite, 0, "reserved", "0–2147483647"},
		{515, opWrite, 0, "memory full", "delete"},
		{518, opWrite, 0, "online", "CFUN=4"},
		{519, opWrite, 10, "protected", "cannot be overwritten"},
		{519, opKeyGen, 2, "already exists", "delete it first"},
		{520, opWrite, 0, "authentication", "XSUDO"},
		{523, opKeyGen, 2, "key generation", "offline"},
		{527, opWrite, 0, "not a valid PEM certificate", `literal \n`},
		{527, opWrite, 2, "invalid content", "real line breaks"},
		{528, opWrite, 0, "power-off warning", "supply"},
		{0, opOther, 0, "not support", "generic"},
		{23, opOther, 0, "memory failure", "generic"},
		{50, opOther, 0, "incorrect parameters", "generic"},
		{60, opOther, 0, "system error", "generic"},
		{CodePlainError, opWrite, 0, "no reason", "CMEE=1"},
	} {
		cause := &at.CMEError{Cmd: "AT%CMNG", Code: c.code}
		e := newModemError("op", c.k, c.typ, c.code, cause)
		if !strings.Contains(e.Message, c.msg) || !strings.Contains(e.Hint, c.hint) || !strings.Contains(e.Error(), e.Message) {
			t.Errorf("code %d kind %d: %q / %q", c.code, c.k, e.Error(), e.Hint)
		}
		var ce *at.CMEError
		if !errors.As(e, &ce) || ce != cause {
			t.Errorf("code %d: does not unwrap to the at error", c.code)
		}
	}
}
