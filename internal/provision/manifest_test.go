package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/cmng"
)

const fixtures = "testdata/manifest"

// env is a getenv over a map: the tests never touch the process environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// sha is the expected hash, computed here independently of cmng.SHA256Hex.
func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadManifestValid(t *testing.T) {
	keyEnv := "-----BEGIN PRIVATE KEY-----\nENVKEY\n-----END PRIVATE KEY-----\n"
	m, err := Load(filepath.Join(fixtures, "valid.yaml"), env(map[string]string{
		"TEST_DEVICE_KEY": keyEnv,
		"TEST_IDENTITY":   "ident-env\r\n",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	path := filepath.Join(fixtures, "valid.yaml")
	f := false
	cred := func(tag uint32, typ cmng.Type, file, envName string, le LineEndings, content string, line int) Credential {
		return Credential{SecTag: tag, Type: typ, File: file, Env: envName, LineEndings: le,
			Content: []byte(content), SHA256: sha([]byte(content)), Pos: Pos{File: path, Line: line}}
	}
	want := &Manifest{
		Path:          path,
		Version:       1,
		LineEndings:   LineEndingsLF,
		AllowReserved: true,
		Board: BoardDefaults{Transport: "rtt", Port: "/dev/ttyACM0", Board: "000960000001", Baud: 115200,
			RTSCTS: &f, Term: "crlf", Dialect: "shell"},
		Credentials: []Credential{
			cred(16842753, cmng.RootCACert, "testdata/manifest/ca.pem", "", LineEndingsLF,
				"-----BEGIN CERTIFICATE-----\nMIIBtestCAcertificateAAAA\n-----END CERTIFICATE-----\n", 14),
			cred(16842753, cmng.ClientCert, "testdata/manifest/certs/client.pem", "", LineEndingsLF,
				"-----BEGIN CERTIFICATE-----\nMIIBtestCLIENTcertificateBBBB\n-----END CERTIFICATE-----\n", 17),
			cred(16842753, cmng.ClientKey, "", "TEST_DEVICE_KEY", LineEndingsCRLF,
				"-----BEGIN PRIVATE KEY-----\r\nENVKEY\r\n-----END PRIVATE KEY-----\r\n", 20),
			cred(42, cmng.PSK, "testdata/manifest/psk.hex", "", LineEndingsLF, "0123456789abcdef0123456789ABCDEF", 24),
			cred(43, cmng.PSKID, "testdata/manifest/identity.txt", "", LineEndingsAsIs, "device-42", 27),
			cred(4294967295, cmng.PSKID, "", "TEST_IDENTITY", LineEndingsLF, "ident-env\n", 31),
		},
		Prune: []uint32{16842753, 42},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", m, want)
		for i := range min(len(m.Credentials), len(want.Credentials)) {
			if g, w := m.Credentials[i], want.Credentials[i]; !reflect.DeepEqual(g, w) {
				t.Errorf("credential %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}
}

func TestParseManifestDefaults(t *testing.T) {
	m, err := Parse(filepath.Join(fixtures, "min.yaml"), []byte("version: 1\ncredentials:\n  - {sec_tag: 7, type: 0, file: ca.pem}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.LineEndings != LineEndingsAsIs || m.AllowReserved || m.Board != (BoardDefaults{}) || m.Prune != nil {
		t.Errorf("defaults: %+v", m)
	}
	if c := m.Credentials[0]; c.LineEndings != LineEndingsAsIs || string(c.Content) != string(fixture(t, "ca.pem")) {
		t.Errorf("credential: %+v", c)
	}
}

func TestLoadManifestUnreadable(t *testing.T) {
	_, err := Load(filepath.Join(fixtures, "no-such.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrManifest) {
		t.Errorf("Load of a missing manifest: %v; want a wrapped fs.ErrNotExist", err)
	}
}

func TestLoadManifestUnreadableCredential(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), fixture(t, "ca.pem"), 0o000); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte("version: 1\ncredentials:\n  - {sec_tag: 1, type: 0, file: ca.pem}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	var me *ManifestError
	if !errors.As(err, &me) || len(me.Problems) != 1 || me.Problems[0].Pos.Line != 3 ||
		!strings.Contains(me.Problems[0].Msg, "cannot be read") {
		t.Errorf("Load: %v", err)
	}
}

// problemCase is a manifest (its first line is line 1) and the problems it must give, each as
// "line: substring", in line order.
type problemCase struct {
	name string
	yaml string
	env  map[string]string
	want []string
}

func checkProblems(t *testing.T, tc problemCase) *ManifestError {
	t.Helper()
	path := filepath.Join(fixtures, "case.yaml")
	m, err := Parse(path, []byte(strings.TrimPrefix(tc.yaml, "\n")), env(tc.env))
	if err == nil {
		t.Fatalf("Parse succeeded (%d credentials); want %q", len(m.Credentials), tc.want)
	}
	if m != nil {
		t.Errorf("Parse returned a manifest with an error")
	}
	if !errors.Is(err, ErrManifest) {
		t.Errorf("error %v does not match ErrManifest", err)
	}
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("error %T is not a *ManifestError", err)
	}
	if me.Path != path {
		t.Errorf("Path = %q", me.Path)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(me.Problems) {
		t.Errorf("Error() has %d lines for %d problems:\n%s", len(lines), len(me.Problems), err)
	}
	if len(me.Problems) != len(tc.want) {
		t.Errorf("%d problems, want %d:\n%s", len(me.Problems), len(tc.want), err)
	}
	for i, w := range tc.want {
		if i >= len(me.Problems) {
			break
		}
		lineStr, sub, _ := strings.Cut(w, ": ")
		line, _ := strconv.Atoi(lineStr)
		p := me.Problems[i]
		if p.Pos != (Pos{File: path, Line: line}) {
			t.Errorf("problem %d at %s, want line %d: %s", i, p.Pos, line, p.Msg)
		}
		if !strings.Contains(p.Msg, sub) {
			t.Errorf("problem %d: %q\n  does not contain %q", i, p.Msg, sub)
		}
		if want := fmt.Sprintf("%s:%d: %s", path, line, p.Msg); lines[i] != want {
			t.Errorf("Error() line %d = %q, want %q", i, lines[i], want)
		}
	}
	return me
}

// bigPEM is a certificate whose write command is longer than at_client's 4095 characters.
var bigPEM = "-----BEGIN CERTIFICATE-----\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", 64) + "-----END CERTIFICATE-----\n"

func TestParseManifestProblems(t *testing.T) {
	for _, tc := range []problemCase{
		{name: "empty", yaml: "", want: []string{"1: the manifest is empty"}},
		{name: "only a comment", yaml: "# nothing\n", want: []string{"1: the manifest is empty"}},
		{name: "not a mapping", yaml: "- 1\n- 2\n", want: []string{"1: must be a mapping"}},
		{name: "yaml syntax", yaml: `
version: 1
credentials:
  - sec_tag: 1
   type: 0
`, want: []string{"3: not valid YAML: did not find expected '-' indicator (check the indentation and punctuation from this line on)"}},
		{name: "yaml tab", yaml: "version: 1\n\tboard: x\n", want: []string{"2: not valid YAML: found a tab character"}},
		{name: "yaml flow", yaml: "version: 1\nprune: [1, 2\n", want: []string{"2: not valid YAML: did not find expected ',' or ']'"}},
		{name: "second document", yaml: "version: 1\n---\nversion: 1\n", want: []string{"2: a second YAML document"}},
		{name: "version missing", yaml: `
credentials:
  - {sec_tag: 1, type: 0, file: ca.pem}
`, want: []string{"1: version is missing: add `version: 1`"}},
		{name: "version 2", yaml: "\nversion: 2\n", want: []string{"1: unsupported version \"2\": this nrfprov reads `version: 1`"}},
		{name: "version string", yaml: "version: one\n", want: []string{"1: unsupported version \"one\""}},
		{name: "unknown top-level field", yaml: `
version: 1
credentails: []
`, want: []string{`2: unknown field "credentails" in the manifest: the fields are version, line_endings, allow_reserved, board, credentials, prune`}},
		{name: "unknown field suggestion", yaml: `
version: 1
lineEndings: lf
`, want: []string{"2: (did you mean line_endings?)"}},
		{name: "duplicate key", yaml: `
version: 1
version: 1
`, want: []string{"2: version is given twice in the manifest (also at line 1)"}},
		{name: "unknown board field", yaml: `
version: 1
board:
  transport: serial
  speed: 115200
`, want: []string{`4: unknown field "speed" in board`}},
		{name: "bad board values", yaml: `
version: 1
board:
  baud: fast
  rtscts: maybe
  port: [a]
`, want: []string{"3: board.baud must be a positive number", "4: board.rtscts must be true or false", "5: board.port must be a string"}},
		{name: "line_endings unknown", yaml: `
version: 1
line_endings: dos
`, want: []string{`2: unknown line_endings "dos": use lf, crlf or as-is`}},
		{name: "credential line_endings unknown", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: ca.pem
    line_endings: unix
`, want: []string{`6: unknown line_endings "unix"`}},
		{name: "allow_reserved not a bool", yaml: "version: 1\nallow_reserved: sometimes\n",
			want: []string{"2: allow_reserved must be true or false"}},
		{name: "unknown credential field", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: ca.pem
    content: hello
`, want: []string{`6: unknown field "content" in a credential: the fields are sec_tag, type, file, env, line_endings`}},
		{name: "credentials not a list", yaml: "version: 1\ncredentials:\n  sec_tag: 1\n",
			want: []string{"3: credentials must be a list"}},
		{name: "credential not a mapping", yaml: "version: 1\ncredentials:\n  - ca.pem\n",
			want: []string{"3: a credential must be a mapping"}},
		{name: "type unknown", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: CA_CERT
    file: ca.pem
`, want: []string{`4: unknown credential type "CA_CERT": use one of ROOT_CA_CERT (0), CLIENT_CERT (1), CLIENT_KEY (2), PSK (3), PSK_ID (4)`}},
		{name: "type not writable", yaml: `
version: 1
allow_reserved: true
credentials:
  - sec_tag: 1
    type: 10
    file: ca.pem
  - sec_tag: 1
    type: ENDORSEMENT_KEY
    file: ca.pem
`, want: []string{
			"5: type NORDIC_ID_ROOT_CA (10) is not written with %CMNG",
			"8: type ENDORSEMENT_KEY (8) is not written with %CMNG (it belongs to the modem or to %KEYGEN/%XPMNG): use one of ROOT_CA_CERT (0),"}},
		{name: "type out of range", yaml: "version: 1\ncredentials:\n  - sec_tag: 1\n    type: 13\n    file: ca.pem\n",
			want: []string{`4: unknown credential type "13"`}},
		{name: "type missing", yaml: "version: 1\ncredentials:\n  - sec_tag: 1\n    file: ca.pem\n",
			want: []string{"3: type is missing"}},
		{name: "sec_tag missing", yaml: "version: 1\ncredentials:\n  - type: 0\n    file: ca.pem\n",
			want: []string{"3: sec_tag is missing: add `sec_tag: <0–2147483647>`"}},
		{name: "sec_tag reserved", yaml: `
version: 1
credentials:
  - sec_tag: 2147483648
    type: 0
    file: ca.pem
`, want: []string{"3: sec_tag 2147483648 is above 2147483647, in the range reserved for the modem: use 0–2147483647 (or set allow_reserved: true"}},
		{name: "sec_tag out of range even reserved", yaml: `
version: 1
allow_reserved: true
credentials:
  - sec_tag: 4294967296
    type: 0
    file: ca.pem
  - sec_tag: -1
    type: 0
    file: ca.pem
  - sec_tag: 99999999999999999999999
    type: 0
    file: ca.pem
`, want: []string{"4: sec_tag 4294967296 is out of range", "7: sec_tag -1 is out of range", "10: sec_tag must be a number"}},
		{name: "sec_tag not a number", yaml: `
version: 1
credentials:
  - sec_tag: nrfcloud
    type: 0
    file: ca.pem
  - sec_tag: "42"
    type: 0
    file: ca.pem
  - sec_tag: 4.2
    type: 0
    file: ca.pem
`, want: []string{`3: sec_tag must be a number 0–2147483647, not "nrfcloud"`, `6: sec_tag must be a number`, `9: sec_tag must be a number`}},
		{name: "neither file nor env", yaml: "version: 1\ncredentials:\n  - sec_tag: 1\n    type: 0\n",
			want: []string{"3: neither file nor env is given: add `file: <path>` or `env: <VARIABLE>`"}},
		{name: "both file and env", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: ca.pem
    env: CA
`, env: map[string]string{"CA": "x"}, want: []string{"6: both file and env are given (file at line 5): keep exactly one"}},
		{name: "file missing", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: nope/ca.pem
`, want: []string{"5: file testdata/manifest/nope/ca.pem does not exist: check the path (relative paths are relative to the manifest's directory testdata/manifest)"}},
		{name: "file is a directory", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: certs
`, want: []string{"5: file testdata/manifest/certs is a directory"}},
		{name: "file empty value", yaml: "version: 1\ncredentials:\n  - sec_tag: 1\n    type: 0\n    file:\n",
			want: []string{"5: file must be a path"}},
		{name: "env unset and empty", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    env: NRFPROV_TEST_UNSET
  - sec_tag: 1
    type: 1
    env: EMPTY
`, env: map[string]string{"EMPTY": ""}, want: []string{
			"5: environment variable NRFPROV_TEST_UNSET is not set: export it with the ROOT_CA_CERT's content",
			"8: environment variable EMPTY is empty"}},
		{name: "not PEM", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: ROOT_CA_CERT
    file: notpem.txt
  - sec_tag: 1
    type: CLIENT_CERT
    file: notpem.txt
  - sec_tag: 1
    type: CLIENT_KEY
    file: ca.pem
  - sec_tag: 2
    type: CLIENT_KEY
    file: notpem.txt
`, want: []string{
			"5: file testdata/manifest/notpem.txt is not PEM: a ROOT_CA_CERT must hold at least one -----BEGIN CERTIFICATE-----",
			"8: file testdata/manifest/notpem.txt is not PEM: a CLIENT_CERT",
			"11: file testdata/manifest/ca.pem is not a PEM private key: a CLIENT_KEY must hold a -----BEGIN … PRIVATE KEY----- block",
			"14: file testdata/manifest/notpem.txt is not a PEM private key"}},
		{name: "PEM without END", yaml: "version: 1\ncredentials:\n  - sec_tag: 1\n    type: 0\n    env: CA\n",
			env: map[string]string{"CA": "-----BEGIN CERTIFICATE-----\nAAAA\n"}, want: []string{"5: env CA is not PEM"}},
		{name: "key in a certificate slot", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: ROOT_CA_CERT
    file: key-as-cert.pem
`, want: []string{"5: file testdata/manifest/key-as-cert.pem holds a private key: a ROOT_CA_CERT is not secret"}},
		{name: "PSK not hex", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: PSK
    env: PSK1
  - sec_tag: 2
    type: PSK
    env: PSK2
  - sec_tag: 3
    type: PSK
    env: PSK3
`, env: map[string]string{"PSK1": "00112233\n", "PSK2": "0011g2", "PSK3": "001"}, want: []string{
			"5: env PSK1: a PSK must be hexadecimal text, but the byte at offset 8 is not a hex digit: remove the whitespace",
			"8: env PSK2: a PSK must be hexadecimal text, but the byte at offset 4 is not a hex digit: write the PSK as hexadecimal digits only",
			"11: env PSK3: a PSK must be hexadecimal text with two digits per byte, but it has an odd number of digits (3)"}},
		{name: "preflight non-ASCII", yaml: `
version: 1
credentials:
  - sec_tag: 2
    type: PSK_ID
    env: ID
  - sec_tag: 2
    type: PSK_ID
    file: identity.txt
`, env: map[string]string{"ID": "caf\xc3\xa9"}, want: []string{
			"5: env ID (as sent, line endings as-is): non-ASCII byte at byte offset 3: the modem stores ASCII text only"}},
		{name: "preflight quote in a file", yaml: `
version: 1
credentials:
  - sec_tag: 7
    type: CLIENT_KEY
    file: key-secret-quote.pem
`, want: []string{`5: file testdata/manifest/key-secret-quote.pem (as sent, line endings as-is): double quote at byte offset 47: content cannot contain "`}},
		{name: "preflight line too long", yaml: `
version: 1
line_endings: crlf
credentials:
  - sec_tag: 1
    type: 0
    env: BIG
`, env: map[string]string{"BIG": bigPEM}, want: []string{
			"6: env BIG (as sent, line endings crlf): the command is 4296 characters, over the device's line limit of 4095 by 201: the AT host would drop the end of the line"}},
		{name: "duplicate pair", yaml: `
version: 1
credentials:
  - sec_tag: 1
    type: 0
    file: ca.pem
  - sec_tag: 2
    type: 0
    file: ca.pem
  - sec_tag: 1
    type: ROOT_CA_CERT
    file: certs/client.pem
`, want: []string{"9: sec_tag 1 type ROOT_CA_CERT is declared twice (here and at testdata/manifest/case.yaml:3): keep one"}},
		{name: "prune entries", yaml: `
version: 1
prune:
  - 1
  - x
  - 2147483648
  - -5
  - 1
`, want: []string{
			`4: prune entry must be a number 0–2147483647, not "x"`,
			"5: prune entry 2147483648 is above 2147483647",
			"6: prune entry -5 is out of range",
			"7: sec_tag 1 is listed twice in prune (also at line 3)"}},
		{name: "prune not a list", yaml: "version: 1\nprune: 5\n", want: []string{`2: prune must be a list of sec_tags`}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkProblems(t, tc) })
	}
}

func TestParseManifestReportsAllProblems(t *testing.T) {
	checkProblems(t, problemCase{yaml: `
version: 3
board:
  baudrate: 9600
credentials:
  - sec_tag: 1
    type: 0
    file: missing.pem
  - sec_tag: 3000000000
    type: 9
    env: UNSET
  - type: PSK
    file: notpem.txt
    file: psk.hex
prune: [abc]
`, want: []string{
		"1: unsupported version",
		`3: unknown field "baudrate" in board`,
		"7: file testdata/manifest/missing.pem does not exist",
		"8: sec_tag 3000000000 is above 2147483647",
		"9: type OWNERSHIP_KEY (9) is not written",
		"10: environment variable UNSET is not set: export it with the credential's content",
		"11: sec_tag is missing",
		"12: file testdata/manifest/notpem.txt: a PSK must be hexadecimal text",
		"13: file is given twice in a credential (also at line 12)",
		"14: prune entry must be a number",
	}})
}

func TestLineEndingsNormalize(t *testing.T) {
	in := []byte("a\r\nb\nc\rd\r\r\ne\n\n")
	for _, tc := range []struct {
		le   LineEndings
		want string
	}{
		{LineEndingsAsIs, "a\r\nb\nc\rd\r\r\ne\n\n"},
		{LineEndingsLF, "a\nb\nc\nd\n\ne\n\n"},
		{LineEndingsCRLF, "a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\n"},
	} {
		if got := tc.le.Normalize(in); string(got) != tc.want {
			t.Errorf("%s: Normalize(%q) = %q, want %q", tc.le, in, got, tc.want)
		}
	}
	if got := LineEndingsCRLF.Normalize([]byte("x\r\n")); string(got) != "x\r\n" {
		t.Errorf("crlf doubled an existing CR LF: %q", got)
	}
}

// TestManifestLineEndings: the same certificate text through each mode gives the expected bytes,
// and the SHA-256 is over exactly those bytes.
func TestManifestLineEndings(t *testing.T) {
	const mixed = "-----BEGIN CERTIFICATE-----\r\nAAAA\nBBBB\r-----END CERTIFICATE-----\n"
	for _, tc := range []struct {
		manifest string // line_endings: line, or ""
		cred     string // credential's line_endings: line, or ""
		le       LineEndings
		want     []byte
		wantSHA  string
	}{
		{"", "", LineEndingsAsIs,
			[]byte("-----BEGIN CERTIFICATE-----\r\nAAAA\nBBBB\r-----END CERTIFICATE-----\n"), ""},
		{"line_endings: lf", "", LineEndingsLF,
			[]byte("-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n"), ""},
		{"line_endings: lf", "line_endings: crlf", LineEndingsCRLF,
			[]byte("-----BEGIN CERTIFICATE-----\r\nAAAA\r\nBBBB\r\n-----END CERTIFICATE-----\r\n"), ""},
		{"line_endings: CRLF", "line_endings: as-is", LineEndingsAsIs,
			[]byte("-----BEGIN CERTIFICATE-----\r\nAAAA\nBBBB\r-----END CERTIFICATE-----\n"), ""},
	} {
		y := "version: 1\n" + tc.manifest + "\ncredentials:\n  - sec_tag: 5\n    type: 0\n    env: CA\n    " + tc.cred + "\n"
		m, err := Parse("le.yaml", []byte(y), env(map[string]string{"CA": mixed}))
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		c := m.Credentials[0]
		if c.LineEndings != tc.le || string(c.Content) != string(tc.want) || c.SHA256 != sha(tc.want) {
			t.Errorf("%q:\n got %s %q %s\nwant %s %q %s", y, c.LineEndings, c.Content, c.SHA256, tc.le, tc.want, sha(tc.want))
		}
	}
	// The three forms hash differently; the hashes are fixed values over literal bytes.
	lf := sha([]byte("-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n"))
	crlf := sha([]byte("-----BEGIN CERTIFICATE-----\r\nAAAA\r\nBBBB\r\n-----END CERTIFICATE-----\r\n"))
	asis := sha([]byte(mixed))
	if lf == crlf || lf == asis || crlf == asis {
		t.Errorf("hashes not distinct: %s %s %s", lf, crlf, asis)
	}
}

// TestManifestSecretsNeverInErrors: keys, PSKs and anything from env: are named by file or
// variable and byte offset only.
func TestManifestSecretsNeverInErrors(t *testing.T) {
	const marker = "SECRET"
	y := `
version: 1
credentials:
  - sec_tag: 1
    type: CLIENT_KEY
    file: key-secret-quote.pem
  - sec_tag: 2
    type: PSK
    file: psk-secret-bad.hex
  - sec_tag: 3
    type: PSK
    env: PSK_ENV
  - sec_tag: 4
    type: ROOT_CA_CERT
    env: CA_ENV
  - sec_tag: 5
    type: CLIENT_KEY
    env: KEY_ENV
  - sec_tag: 6
    type: PSK_ID
    env: ID_ENV
  - sec_tag: 6
    type: PSK_ID
    env: ID_ENV
`
	vars := map[string]string{
		"PSK_ENV": "SECRETPSK0011",
		"CA_ENV":  "-----BEGIN CERTIFICATE-----\nSECRETCA\xc3\xa9\n-----END CERTIFICATE-----\n",
		"KEY_ENV": "SECRETKEY not pem",
		"ID_ENV":  "SECRET\x7fidentity",
	}
	_, err := Parse(filepath.Join(fixtures, "secrets.yaml"), []byte(strings.TrimPrefix(y, "\n")), env(vars))
	if err == nil {
		t.Fatal("no error")
	}
	var me *ManifestError
	if !errors.As(err, &me) || len(me.Problems) != 7 {
		t.Fatalf("want 7 problems, got:\n%v", err)
	}
	text := err.Error()
	for _, bad := range []string{marker, "0xC3", "0x7F", "quoted", "0011"} {
		if strings.Contains(text, bad) {
			t.Errorf("error shows secret content %q:\n%s", bad, text)
		}
	}
	for _, name := range []string{"key-secret-quote.pem", "psk-secret-bad.hex", "PSK_ENV", "CA_ENV", "KEY_ENV", "ID_ENV", "byte offset"} {
		if !strings.Contains(text, name) {
			t.Errorf("error does not name %q:\n%s", name, text)
		}
	}
}

func TestLoadExamples(t *testing.T) {
	manifests, err := filepath.Glob("../../examples/*/manifest.yaml")
	if err != nil || len(manifests) < 2 {
		t.Fatalf("examples: %v %v", manifests, err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	for _, path := range manifests {
		m, err := Load(path, noEnv)
		if err != nil {
			t.Errorf("%s:\n%v", path, err)
			continue
		}
		if len(m.Credentials) == 0 {
			t.Errorf("%s: no credentials", path)
		}
	}

	// The reference set of the benchmark.
	m, err := Load("../../examples/nrfcloud/manifest.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[cmng.Type][2]int{
		cmng.RootCACert: {1843, 2000}, // 1.8–2.0 KB
		cmng.ClientCert: {1127, 1300}, // 1.1–1.3 KB
		cmng.ClientKey:  {205, 300},   // 0.2–0.3 KB
	}
	if len(m.Credentials) != len(sizes) || m.LineEndings != LineEndingsLF {
		t.Fatalf("reference set: %d credentials, line endings %s", len(m.Credentials), m.LineEndings)
	}
	for _, c := range m.Credentials {
		r := sizes[c.Type]
		if c.SecTag != 16842753 || len(c.Content) < r[0] || len(c.Content) > r[1] {
			t.Errorf("%s: sec_tag %d, %d bytes; want 16842753, %d–%d bytes", c.Type, c.SecTag, len(c.Content), r[0], r[1])
		}
	}
}
