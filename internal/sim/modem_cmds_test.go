package sim_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"crypto/x509"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// Modem commands over the pseudo-terminal of an at_client board, on every modem firmware
// profile (modem-cmng-athost.md §1, §1.12, §7.1 items 5–7).

// a2Profile is what the spec says about one modem firmware family.
type a2Profile struct {
	revision    *regexp.Regexp
	model       *regexp.Regexp
	modemOwned  bool // 4294967293,10 / 4294967294,6 / 4294967292,11 listed (mfw >= 1.3, §1.2)
	placeholder bool // SHA field is the type byte repeated (0.7.0-alpha, §1.7)
	validatePEM bool // 527 for types 0/1 that are not certificates (mfw 2.x, §1.4)
	decryptTags bool // 2147483648–2147483667 writable (mfw >= 2.0.0, §1.2)
	keygen      bool // %KEYGEN and %ATTESTTOKEN (mfw >= 1.3.0, §1.11)
}

func a2ProfileFor(t testing.TB, name string) a2Profile {
	t.Helper()
	switch name {
	case "mfw_nrf9160_0.7.0-29.alpha":
		return a2Profile{revision: regexp.MustCompile(`^mfw_nrf9160_0\.7\.0-29\.alpha$`), model: regexp.MustCompile(`^nRF9160`), placeholder: true}
	case "mfw_nrf9160_1.3.x":
		return a2Profile{revision: regexp.MustCompile(`^mfw_nrf9160_1\.3\.\d+$`), model: regexp.MustCompile(`^nRF9160`), modemOwned: true, keygen: true}
	case "mfw_nrf91x1_2.0.x":
		return a2Profile{revision: regexp.MustCompile(`^mfw_nrf91x1_2\.0\.\d+$`), model: regexp.MustCompile(`^nRF91[356]1`), modemOwned: true, validatePEM: true, decryptTags: true, keygen: true}
	}
	t.Fatalf("no spec expectations for profile %q", name)
	return a2Profile{}
}

// hash is the SHA field the profile reports for content of type typ.
func (p a2Profile) hash(typ int, content string) string {
	if p.placeholder {
		return strings.Repeat(fmt.Sprintf("%02X", typ), 32)
	}
	return a2SHA(content)
}

// a2EachProfile runs f on a fresh at_client board per profile, in parallel.
func a2EachProfile(t *testing.T, f func(t *testing.T, p a2Profile, b *testBoard, h *host)) {
	t.Parallel()
	names := sim.ProfileNames()
	if len(names) < 3 {
		t.Fatalf("profiles: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := a2ProfileFor(t, name)
			b := startBoard(t, sim.BoardConfig{Profile: name})
			h := openHost(t, b.VCOM0(), 0)
			h.bootATClient()
			f(t, p, b, h)
		})
	}
}

// a2IsError reports whether a response is a final error line in either +CMEE mode.
func a2IsError(s string) bool {
	return s == "ERROR\r\n" || regexp.MustCompile(`^\+CME ERROR: \d+\r\n$`).MatchString(s)
}

func a2Luhn(digits string) bool {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

var (
	a2ListLine = regexp.MustCompile(`^%CMNG: (\d+),(\d+),"([0-9A-F]{64})"$`)
	a2UUID     = regexp.MustCompile(`^%XMODEMUUID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r\nOK\r\n$`)
	a2Token    = regexp.MustCompile(`^"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)"$`)
)

// a2ListLines splits a %CMNG list response into its lines and checks the final OK and the
// format of every line (no spaces, 64 uppercase hex digits, §1.6).
func a2ListLines(t testing.TB, resp string) []string {
	t.Helper()
	if !strings.HasSuffix(resp, "OK\r\n") {
		t.Fatalf("list response without OK: %q", resp)
	}
	body := strings.TrimSuffix(resp, "OK\r\n")
	if body == "" {
		return nil
	}
	if !strings.HasSuffix(body, "\r\n") {
		t.Fatalf("list response: %q", resp)
	}
	lines := strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
	for _, l := range lines {
		if !a2ListLine.MatchString(l) {
			t.Fatalf("list line %q does not match %s", l, a2ListLine)
		}
	}
	return lines
}

var a2Owned = []string{"4294967293,10", "4294967294,6", "4294967292,11"}

// TestModemCmdIdentification: +CGSN in all forms, +CGMR, +CGMM, %XMODEMUUID (§1.12).
func TestModemCmdIdentification(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		got := a2Cmd(t, b, h, "AT+CGSN")
		m := regexp.MustCompile(`^(\d{15})\r\nOK\r\n$`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("AT+CGSN: %q, want 15 digits then OK", got)
		}
		imei := m[1]
		if !a2Luhn(imei) {
			t.Errorf("IMEI %s fails its Luhn check digit", imei)
		}
		a2Want(t, b, h, "AT+CGSN=0", imei+"\r\nOK\r\n")
		a2Want(t, b, h, "AT+CGSN=1", `+CGSN: "`+imei+"\"\r\nOK\r\n")
		a2Want(t, b, h, "AT+CGSN=?", "+CGSN: (0-3)\r\nOK\r\n")

		got = a2Cmd(t, b, h, "AT+CGMR")
		if rev := strings.TrimSuffix(got, "\r\nOK\r\n"); rev == got || !p.revision.MatchString(rev) {
			t.Fatalf("AT+CGMR: %q, want %s then OK", got, p.revision)
		}
		a2Want(t, b, h, "AT+CGMR?", "ERROR\r\n")

		got = a2Cmd(t, b, h, "AT+CGMM")
		if mod := strings.TrimSuffix(got, "\r\nOK\r\n"); mod == got || strings.Contains(mod, "\r\n") || !p.model.MatchString(mod) {
			t.Fatalf("AT+CGMM: %q, want one line %s then OK", got, p.model)
		}

		uuid := a2Cmd(t, b, h, "AT%XMODEMUUID")
		if !a2UUID.MatchString(uuid) {
			t.Fatalf("AT%%XMODEMUUID: %q", uuid)
		}
		// Stable across a reset.
		b.reset()
		h.bootATClient()
		a2Want(t, b, h, "AT+CGSN", imei+"\r\nOK\r\n")
		a2Want(t, b, h, "AT%XMODEMUUID", uuid)
	})
}

// TestModemCmdCFUNAndCMEE: +CFUN set/read/test, +CMEE 0/1 and what it does to errors (§1.5,
// §1.12), 518 for write/delete in CFUN 1 and 21 only.
func TestModemCmdCFUNAndCMEE(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN?", "+CFUN: 0\r\nOK\r\n")
		a2Want(t, b, h, "AT+CFUN=?", "+CFUN: (0,1,4,20,21,30,31,40,41,44)\r\nOK\r\n")
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		a2Want(t, b, h, "AT+CFUN?", "+CFUN: 4\r\nOK\r\n")
		a2Want(t, b, h, "AT+CFUN=7", "ERROR\r\n")
		a2Want(t, b, h, "AT+CFUN?", "+CFUN: 4\r\nOK\r\n")

		a2Want(t, b, h, "AT+CMEE?", "+CMEE: 0\r\nOK\r\n")
		a2Want(t, b, h, "AT%CMNG=2,99,0", "ERROR\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		a2Want(t, b, h, "AT+CMEE?", "+CMEE: 1\r\nOK\r\n")
		a2Want(t, b, h, "AT%CMNG=2,99,0", "+CME ERROR: 513\r\n")
		a2Want(t, b, h, "AT%CMNG=3,99,0", "+CME ERROR: 513\r\n")

		a2Want(t, b, h, `AT%CMNG=0,99,4,"id"`, "OK\r\n")
		for _, fun := range []int{1, 21} {
			a2Want(t, b, h, fmt.Sprintf("AT+CFUN=%d", fun), "OK\r\n")
			a2Want(t, b, h, `AT%CMNG=0,99,3,"0011"`, "+CME ERROR: 518\r\n")
			a2Want(t, b, h, "AT%CMNG=3,99,4", "+CME ERROR: 518\r\n")
			// Read and list are allowed in any mode.
			a2Want(t, b, h, "AT%CMNG=2,99,4", fmt.Sprintf("%%CMNG: 99,4,\"%s\",\"id\"\r\nOK\r\n", p.hash(4, "id")))
			a2Want(t, b, h, "AT%CMNG=1,99", fmt.Sprintf("%%CMNG: 99,4,\"%s\"\r\nOK\r\n", p.hash(4, "id")))
		}
		a2Want(t, b, h, "AT+CMEE=0", "OK\r\n")
		a2Want(t, b, h, `AT%CMNG=0,99,3,"0011"`, "ERROR\r\n")
		for _, fun := range []int{0, 4, 41} {
			a2Want(t, b, h, fmt.Sprintf("AT+CFUN=%d", fun), "OK\r\n")
			a2Want(t, b, h, `AT%CMNG=0,99,3,"0011"`, "OK\r\n")
			a2Want(t, b, h, "AT%CMNG=3,99,3", "OK\r\n")
		}
		a2Want(t, b, h, "AT+CMEE?", "+CMEE: 0\r\nOK\r\n")
	})
}

// TestModemCmdCMNGList: list formats, modem-owned entries after the user entries, the empty
// list, list by tag and by tag+type, a space before a numeric parameter, overwrite (§1.6).
func TestModemCmdCMNGList(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		// Fresh store: only what the modem owns.
		lines := a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1"))
		var owned []string
		for _, l := range lines {
			m := a2ListLine.FindStringSubmatch(l)
			owned = append(owned, m[1]+","+m[2])
		}
		if p.modemOwned {
			if strings.Join(owned, " ") != strings.Join(a2Owned, " ") {
				t.Fatalf("fresh list: %q, want the modem-owned entries %v", lines, a2Owned)
			}
		} else if len(lines) != 0 {
			t.Fatalf("fresh list on a firmware without modem-owned entries: %q, want just OK", lines)
		}
		ownedLines := lines
		a2Want(t, b, h, "AT%CMNG=1,12345", "OK\r\n")
		a2Want(t, b, h, "AT%CMNG=1,12345,0", "OK\r\n")

		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		ca, client := a2Cert(t, "ca"), a2Cert(t, "client")
		key := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
		creds := []struct {
			tag     uint64
			typ     int
			content string
		}{
			{16842753, 0, ca},
			{16842753, 1, client},
			{16842753, 2, key},
			{42, 0, ca},
			{7, 4, "nrfsim-identity"},
			{7, 3, "00112233AABBCCDD"},
			{2147483647, 4, "max-user-tag"},
		}
		var user []string
		byTag := map[uint64][]string{}
		for _, c := range creds {
			a2Want(t, b, h, fmt.Sprintf(`AT%%CMNG=0,%d,%d,"%s"`, c.tag, c.typ, c.content), "OK\r\n")
			l := fmt.Sprintf(`%%CMNG: %d,%d,"%s"`, c.tag, c.typ, p.hash(c.typ, c.content))
			user = append(user, l)
			byTag[c.tag] = append(byTag[c.tag], l)
		}
		sameSet := func(what string, got, want []string) {
			t.Helper()
			g, w := append([]string(nil), got...), append([]string(nil), want...)
			sort.Strings(g)
			sort.Strings(w)
			if strings.Join(g, "\n") != strings.Join(w, "\n") {
				t.Fatalf("%s:\n got %q\nwant %q (any order)", what, got, want)
			}
		}
		lines = a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1"))
		if len(lines) != len(user)+len(ownedLines) {
			t.Fatalf("full list: %q", lines)
		}
		sameSet("user entries of the full list", lines[:len(user)], user)
		if strings.Join(lines[len(user):], "|") != strings.Join(ownedLines, "|") {
			t.Fatalf("full list ends with %q, want the modem-owned entries %q after the user entries", lines[len(user):], ownedLines)
		}
		for tag, want := range byTag {
			sameSet(fmt.Sprintf("list of tag %d", tag), a2ListLines(t, a2Cmd(t, b, h, fmt.Sprintf("AT%%CMNG=1,%d", tag))), want)
		}
		a2Want(t, b, h, "AT%CMNG=1,16842753,1", fmt.Sprintf("%%CMNG: 16842753,1,\"%s\"\r\nOK\r\n", p.hash(1, client)))
		a2Want(t, b, h, "AT%CMNG=1,16842753,4", "OK\r\n")
		// modem_key_mgmt sends "AT%CMNG=1, <tag>" (§1.1).
		sameSet("list with a space after the comma", a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1, 7")), byTag[7])
		if p.modemOwned {
			a2Want(t, b, h, "AT%CMNG=1,4294967294", ownedLines[1]+"\r\nOK\r\n")
			a2Want(t, b, h, "AT%CMNG=1,4294967292,11", ownedLines[2]+"\r\nOK\r\n")
		}

		// A write to an existing pair replaces it (§1.8).
		a2Want(t, b, h, `AT%CMNG=0,7,4,"nrfsim-identity-2"`, "OK\r\n")
		sameSet("after overwrite", a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1,7")), []string{
			fmt.Sprintf(`%%CMNG: 7,3,"%s"`, p.hash(3, "00112233AABBCCDD")),
			fmt.Sprintf(`%%CMNG: 7,4,"%s"`, p.hash(4, "nrfsim-identity-2")),
		})
		a2Want(t, b, h, "AT%CMNG=2,7,4", fmt.Sprintf("%%CMNG: 7,4,\"%s\",\"nrfsim-identity-2\"\r\nOK\r\n", p.hash(4, "nrfsim-identity-2")))

		// Delete everything the user wrote: the list is back to the modem-owned entries.
		for _, c := range creds {
			if c.tag == 7 && c.typ == 4 {
				continue
			}
			a2Want(t, b, h, fmt.Sprintf("AT%%CMNG=3,%d,%d", c.tag, c.typ), "OK\r\n")
		}
		a2Want(t, b, h, "AT%CMNG=3,7,4", "OK\r\n")
		if got := a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1")); strings.Join(got, "|") != strings.Join(ownedLines, "|") {
			t.Fatalf("list after deleting everything: %q, want %q", got, ownedLines)
		}
	})
}

// TestModemCmdCMNGReadAccess: read returns the exact content of types 0 and 4; types 1, 2, 3
// answer 514; a missing item 513 (§1.6, §1.8, §1.9).
func TestModemCmdCMNGReadAccess(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		ca := a2Cert(t, "read-ca")
		client := a2Cert(t, "read-client")
		contents := map[int]string{
			0: ca,
			1: client,
			2: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n",
			3: "000102030405060708090A0B0C0D0E0F",
			4: "nrfsim-psk-identity",
		}
		for typ := 0; typ <= 4; typ++ {
			a2Want(t, b, h, fmt.Sprintf(`AT%%CMNG=0,5,%d,"%s"`, typ, contents[typ]), "OK\r\n")
		}
		for _, typ := range []int{0, 4} {
			a2Want(t, b, h, fmt.Sprintf("AT%%CMNG=2,5,%d", typ),
				fmt.Sprintf("%%CMNG: 5,%d,\"%s\",\"%s\"\r\nOK\r\n", typ, p.hash(typ, contents[typ]), contents[typ]))
		}
		for _, typ := range []int{1, 2, 3} {
			a2Want(t, b, h, fmt.Sprintf("AT%%CMNG=2,5,%d", typ), "+CME ERROR: 514\r\n")
		}
		a2Want(t, b, h, "AT%CMNG=2,6,0", "+CME ERROR: 513\r\n")
		a2Want(t, b, h, "AT%CMNG=2,6,4", "+CME ERROR: 513\r\n")
		a2Want(t, b, h, "AT%CMNG=3,6,4", "+CME ERROR: 513\r\n")
		if p.modemOwned {
			// The Nordic identity root CA is listed but not readable (§1.9).
			a2Want(t, b, h, "AT%CMNG=2,4294967293,10", "+CME ERROR: 514\r\n")
		}
		// An empty string is not allowed as content (§1.4); the stored item stays.
		if got := a2Cmd(t, b, h, `AT%CMNG=0,5,4,""`); !a2IsError(got) {
			t.Fatalf("write of empty content: %q, want an error", got)
		}
		a2Want(t, b, h, "AT%CMNG=1,5,4", fmt.Sprintf("%%CMNG: 5,4,\"%s\"\r\nOK\r\n", p.hash(4, contents[4])))

		a2Want(t, b, h, "AT+CMEE=0", "OK\r\n")
		a2Want(t, b, h, "AT%CMNG=2,5,1", "ERROR\r\n")
		a2Want(t, b, h, "AT%CMNG=2,6,0", "ERROR\r\n")
		a2Want(t, b, h, "AT%CMNG=3,5,3", "OK\r\n")
		a2Want(t, b, h, "AT%CMNG=3,5,3", "ERROR\r\n")
	})
}

// TestModemCmdCMNGProtected: modem-owned items cannot be written or deleted (514), tags above
// the user range are refused (514) except the TLS-decrypt tags on mfw >= 2.0, and type 12 is
// unknown (§1.2, §1.3, §1.8).
func TestModemCmdCMNGProtected(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		before := a2Cmd(t, b, h, "AT%CMNG=1")
		if p.modemOwned {
			for _, o := range a2Owned {
				a2Want(t, b, h, fmt.Sprintf(`AT%%CMNG=0,%s,"nrfsim"`, o), "+CME ERROR: 514\r\n")
				a2Want(t, b, h, "AT%CMNG=3,"+o, "+CME ERROR: 514\r\n")
			}
			a2Want(t, b, h, "AT%CMNG=1", before)

			a2Want(t, b, h, `AT%CMNG=0,3000000000,4,"reserved"`, "+CME ERROR: 514\r\n")
			a2Want(t, b, h, `AT%CMNG=0,2147483668,4,"reserved"`, "+CME ERROR: 514\r\n")
			for _, tag := range []string{"2147483648", "2147483667"} {
				if p.decryptTags {
					a2Want(t, b, h, `AT%CMNG=0,`+tag+`,4,"decrypt"`, "OK\r\n")
					a2Want(t, b, h, "AT%CMNG=1,"+tag, fmt.Sprintf("%%CMNG: %s,4,\"%s\"\r\nOK\r\n", tag, a2SHA("decrypt")))
				} else {
					a2Want(t, b, h, `AT%CMNG=0,`+tag+`,4,"decrypt"`, "+CME ERROR: 514\r\n")
				}
			}
		}
		a2Want(t, b, h, `AT%CMNG=0,2147483647,4,"top"`, "OK\r\n")
		a2Want(t, b, h, `AT%CMNG=0,0,4,"zero"`, "OK\r\n")
		a2Want(t, b, h, "AT%CMNG=1,0", fmt.Sprintf("%%CMNG: 0,4,\"%s\"\r\nOK\r\n", p.hash(4, "zero")))

		// Type 12 is not a known type: ERROR or +CME ERROR: 513 (§1.3).
		for _, c := range []string{`AT%CMNG=0,1,12,"x"`, "AT%CMNG=2,1,12", "AT%CMNG=3,1,12", "AT%CMNG=1,1,12"} {
			if got := a2Cmd(t, b, h, c); got != "ERROR\r\n" && got != "+CME ERROR: 513\r\n" {
				t.Errorf("%s: %q, want ERROR or +CME ERROR: 513", c, got)
			}
		}
	})
}

// TestModemCmdCMNGPEMValidation: on mfw 2.x, types 0 and 1 must be certificates (527): not for
// "HONKHONK", not for a PEM whose line breaks are the two characters \n, but a real certificate
// passes with LF and with CRLF breaks, and so does a chain; type 2 is not checked. Older firmware
// stores anything (§1.4, F1–F3).
func TestModemCmdCMNGPEMValidation(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		cert := a2Cert(t, "pem")
		literal := strings.ReplaceAll(strings.TrimSuffix(cert, "\n"), "\n", `\n`)
		notACert := "-----BEGIN CERTIFICATE-----\nSE9OS0hPTktIT05LSE9OSw==\n-----END CERTIFICATE-----\n"
		bad := []string{"HONKHONK", literal, notACert}
		for typ := 0; typ <= 1; typ++ {
			for i, c := range bad {
				cmd := fmt.Sprintf(`AT%%CMNG=0,%d,%d,"%s"`, 300+i, typ, c)
				if p.validatePEM {
					a2Want(t, b, h, cmd, "+CME ERROR: 527\r\n")
				} else {
					a2Want(t, b, h, cmd, "OK\r\n")
				}
			}
		}
		if p.validatePEM {
			for i := range bad {
				a2Want(t, b, h, fmt.Sprintf("AT%%CMNG=1,%d", 300+i), "OK\r\n")
			}
			a2Want(t, b, h, "AT+CMEE=0", "OK\r\n")
			a2Want(t, b, h, `AT%CMNG=0,300,0,"HONKHONK"`, "ERROR\r\n")
			a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		}
		crlf := strings.ReplaceAll(cert, "\n", "\r\n")
		chain := cert + a2Cert(t, "pem-2")
		// nrfcredstore sends rstrip()ed files, Cellular Monitor trim()med text (§1.4).
		trimmed := strings.TrimRight(cert, "\n")
		good := []string{cert, crlf, chain, trimmed}
		for i, c := range good {
			for typ := 0; typ <= 1; typ++ {
				a2Want(t, b, h, fmt.Sprintf(`AT%%CMNG=0,%d,%d,"%s"`, 310+i, typ, c), "OK\r\n")
				a2Want(t, b, h, fmt.Sprintf("AT%%CMNG=1,%d,%d", 310+i, typ), fmt.Sprintf("%%CMNG: %d,%d,\"%s\"\r\nOK\r\n", 310+i, typ, p.hash(typ, c)))
			}
		}
		// Private keys are not validated (F2: type 2 accepted where 0/1 failed).
		a2Want(t, b, h, `AT%CMNG=0,320,2,"HONKHONK"`, "OK\r\n")
	})
}

// TestModemCmdKEYGEN: %KEYGEN=<tag>,2,0 answers a CSR signed by the new key, in the format
// "<base64url CSR>.<base64url COSE>"; the key appears as type 2 of the tag; a second %KEYGEN
// into it answers 519; while online 518 (§1.12, §1.8).
func TestModemCmdKEYGEN(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		if !p.keygen {
			a2Want(t, b, h, "AT%KEYGEN=16842753,2,0", "ERROR\r\n")
			a2Want(t, b, h, "AT%ATTESTTOKEN", "ERROR\r\n")
			return
		}
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		csrOf := func(resp string) *x509.CertificateRequest {
			t.Helper()
			m := regexp.MustCompile(`^%KEYGEN: ("[^"\r\n]*")\r\nOK\r\n$`).FindStringSubmatch(resp)
			if m == nil {
				t.Fatalf("%%KEYGEN response: %q", resp)
			}
			parts := a2Token.FindStringSubmatch(m[1])
			if parts == nil {
				t.Fatalf("%%KEYGEN payload %s is not two base64url parts joined by '.'", m[1])
			}
			der, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatalf("CSR part: %v", err)
			}
			if _, err := base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
				t.Fatalf("COSE part: %v", err)
			}
			csr, err := x509.ParseCertificateRequest(der)
			if err != nil {
				t.Fatalf("CSR does not parse: %v", err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Fatalf("CSR signature: %v", err)
			}
			return csr
		}
		csrOf(a2Cmd(t, b, h, "AT%KEYGEN=16842753,2,0"))
		lines := a2ListLines(t, a2Cmd(t, b, h, "AT%CMNG=1,16842753"))
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "%CMNG: 16842753,2,\"") {
			t.Fatalf("list after %%KEYGEN: %q, want the generated key as type 2", lines)
		}
		a2Want(t, b, h, "AT%KEYGEN=16842753,2,0", "+CME ERROR: 519\r\n")
		a2Want(t, b, h, "AT%CMNG=1,16842753", lines[0]+"\r\nOK\r\n")

		csr := csrOf(a2Cmd(t, b, h, `AT%KEYGEN=16842754,2,0,"O=nrfprov,CN=nrfsim-a2"`))
		if csr.Subject.CommonName != "nrfsim-a2" || len(csr.Subject.Organization) != 1 || csr.Subject.Organization[0] != "nrfprov" {
			t.Fatalf("CSR subject %v, want O=nrfprov, CN=nrfsim-a2", csr.Subject)
		}

		// response_content 1: the public key (DER SubjectPublicKeyInfo) instead of a CSR.
		m := regexp.MustCompile(`^%KEYGEN: ("[^"\r\n]*")\r\nOK\r\n$`).FindStringSubmatch(a2Cmd(t, b, h, "AT%KEYGEN=16842756,2,1"))
		if m == nil || a2Token.FindStringSubmatch(m[1]) == nil {
			t.Fatalf("%%KEYGEN=..,2,1: %v", m)
		}
		der, err := base64.RawURLEncoding.DecodeString(a2Token.FindStringSubmatch(m[1])[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := x509.ParsePKIXPublicKey(der); err != nil {
			t.Fatalf("%%KEYGEN=..,2,1 first part is not a public key: %v", err)
		}
		// A tag whose private key was written with %CMNG is occupied too.
		a2Want(t, b, h, `AT%CMNG=0,16842757,2,"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"`, "OK\r\n")
		a2Want(t, b, h, "AT%KEYGEN=16842757,2,0", "+CME ERROR: 519\r\n")

		a2Want(t, b, h, "AT+CFUN=1", "OK\r\n")
		a2Want(t, b, h, "AT%KEYGEN=16842755,2,0", "+CME ERROR: 518\r\n")
		a2Want(t, b, h, "AT%CMNG=1,16842755", "OK\r\n")

		tok := a2Cmd(t, b, h, "AT%ATTESTTOKEN")
		m = regexp.MustCompile(`^%ATTESTTOKEN: ("[^"\r\n]*")\r\nOK\r\n$`).FindStringSubmatch(tok)
		if m == nil || a2Token.FindStringSubmatch(m[1]) == nil {
			t.Fatalf("AT%%ATTESTTOKEN: %q, want %%ATTESTTOKEN: \"<base64url>.<base64url>\" then OK", tok)
		}
		for _, part := range a2Token.FindStringSubmatch(m[1])[1:] {
			if raw, err := base64.RawURLEncoding.DecodeString(part); err != nil || len(raw) == 0 {
				t.Fatalf("attestation token part %q: %v", part, err)
			}
		}
	})
}

// TestModemCmdCMNGPassword: an encrypted type-2 key is written with a quoted <passwd> of at most
// 32 characters (§1.1).
func TestModemCmdCMNGPassword(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT+CFUN=4", "OK\r\n")
		key := "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3\n-----END ENCRYPTED PRIVATE KEY-----\n"
		a2Want(t, b, h, `AT%CMNG=0,123,2,"`+key+`","abcdefg"`, "OK\r\n")
		a2Want(t, b, h, "AT%CMNG=1,123,2", fmt.Sprintf("%%CMNG: 123,2,\"%s\"\r\nOK\r\n", p.hash(2, key)))
		a2Want(t, b, h, `AT%CMNG=0,124,2,"`+key+`","`+strings.Repeat("p", 32)+`"`, "OK\r\n")
		if got := a2Cmd(t, b, h, `AT%CMNG=0,125,2,"`+key+`","`+strings.Repeat("p", 33)+`"`); !a2IsError(got) {
			t.Fatalf("33-character password: %q, want an error", got)
		}
		a2Want(t, b, h, "AT%CMNG=1,125", "OK\r\n")
	})
}

// TestModemCmdCMNGUnsupportedForms: only the set form of %CMNG exists (§1.1).
func TestModemCmdCMNGUnsupportedForms(t *testing.T) {
	a2EachProfile(t, func(t *testing.T, p a2Profile, b *testBoard, h *host) {
		a2Want(t, b, h, "AT%CMNG?", "ERROR\r\n")
		a2Want(t, b, h, "AT%CMNG=?", "ERROR\r\n")
		a2Want(t, b, h, "AT%CMNG", "ERROR\r\n")
		a2Want(t, b, h, "AT+CMEE=1", "OK\r\n")
		for _, c := range []string{"AT%CMNG?", "AT%CMNG=?", "AT%CMNG=9", "AT%CMNG=2,1"} {
			if got := a2Cmd(t, b, h, c); !a2IsError(got) {
				t.Errorf("%s: %q, want an error", c, got)
			}
		}
	})
}
