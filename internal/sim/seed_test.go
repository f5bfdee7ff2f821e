package sim_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// certPEM makes a real self-signed certificate whose PEM text is at least minLen bytes, with
// LF line endings (as encoding/pem writes them).
func certPEM(t *testing.T, minLen int) string {
	t.Helper()
	return testsupport.CertPEM(t, "nrfsim test CA", minLen)
}

func shaHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestSeedTranscript replays the field report behind the project (docs/field-report-cmng-hang.txt)
// on the mfw 0.7.0 profile: a certificate write hangs and leaves a partial entry, the list shows
// placeholder hashes, a read-back is cut by the small AT buffer with no final result, and the
// board keeps answering short commands.
func TestSeedTranscript(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()

	for _, c := range []string{"AT", "AT+CFUN=4", "AT+CMEE=1"} {
		if got := h.cmd(c); got != "OK\r\n" {
			t.Fatalf("%s: got %q, want OK", c, got)
		}
	}
	// Short writes work on this firmware (the report's "HONKHONK").
	for typ, content := range []string{"BEEPBEEP", "client-cert", "client-key"} {
		if got := h.cmd(fmt.Sprintf(`AT%%CMNG=0,64738,%d,"%s"`, typ, content)); got != "OK\r\n" {
			t.Fatalf("short write type %d: got %q", typ, got)
		}
	}

	// A real 1.6–1.9 KB certificate hangs the write: no answer ever comes.
	cert := certPEM(t, 1700)
	if len(cert) > 1900 {
		t.Fatalf("test certificate is %d bytes, want 1.7–1.9 KB like the report's", len(cert))
	}
	before := b.state().Stats.TxBytes
	h.write(fmt.Sprintf("AT%%CMNG=0,64738,0,\"%s\"\r", cert))
	h.write("AT\r")
	st := b.waitIdle(h.sent)
	if !st.Hung || st.Stats.TxBytes != before {
		t.Fatalf("write of %d bytes: want a hang with no output; hung=%v, tx %d -> %d", len(cert), st.Hung, before, st.Stats.TxBytes)
	}
	if out := h.drain(); out != "" {
		t.Fatalf("a hung board answered %q", out)
	}

	// Reset (the user reflashed and rebooted), then look around as in the transcript.
	b.reset()
	h.bootATClient()
	h.cmd("AT+CFUN=4")
	h.cmd("AT+CMEE=1")
	list := h.cmd("AT%CMNG=1")
	want := "%CMNG: 64738,0,\"" + strings.Repeat("00", 32) + "\"\r\n" +
		"%CMNG: 64738,1,\"" + strings.Repeat("01", 32) + "\"\r\n" +
		"%CMNG: 64738,2,\"" + strings.Repeat("02", 32) + "\"\r\n" +
		"OK\r\n"
	if list != want {
		t.Fatalf("list after the hang:\n got %q\nwant %q", list, want)
	}

	// The read-back shows only part of the certificate and never ends with OK: the AT buffer
	// of that era held about 1 KB.
	h.write("AT%CMNG=2,64738,0\r")
	st = b.waitIdle(h.sent)
	if st.Busy || st.Hung {
		t.Fatalf("board still busy after a truncated read: %+v", st)
	}
	out := h.drain()
	prefix := "%CMNG: 64738,0,\"" + strings.Repeat("00", 32) + "\",\"-----BEGIN CERTIFICATE-----\n"
	if !strings.HasPrefix(out, prefix) {
		t.Fatalf("read-back starts %q, want prefix %q", out[:min(len(out), 120)], prefix)
	}
	if len(out) != 1024 || strings.Contains(out, "OK\r\n") || strings.HasSuffix(out, "\"\r\n") {
		t.Fatalf("read-back: %d bytes, want exactly 1024 with no closing quote and no OK; tail %q", len(out), out[max(0, len(out)-40):])
	}
	if !strings.HasPrefix(cert, out[len(prefix)-len("-----BEGIN CERTIFICATE-----\n"):]) {
		t.Fatalf("read-back content is not a prefix of the written certificate")
	}

	// Blank lines, then the board answers again, and the partial entry can be deleted.
	h.write("\r\r\r")
	if got := h.cmd("AT"); got != "OK\r\n" {
		t.Fatalf("AT after the truncated read: %q", got)
	}
	for typ := 0; typ < 3; typ++ {
		if got := h.cmd(fmt.Sprintf("AT%%CMNG=3,64738,%d", typ)); got != "OK\r\n" {
			t.Fatalf("delete type %d: %q", typ, got)
		}
	}
	if got := h.cmd("AT%CMNG=1"); got != "OK\r\n" {
		t.Fatalf("empty list: %q", got)
	}
	// Short content still round-trips, with its placeholder hash.
	h.cmd(`AT%CMNG=0,64738,0,"HONKHONK"`)
	if got, want := h.cmd("AT%CMNG=2,64738,0"), "%CMNG: 64738,0,\""+strings.Repeat("00", 32)+"\",\"HONKHONK\"\r\nOK\r\n"; got != want {
		t.Fatalf("read HONKHONK: got %q want %q", got, want)
	}
}

// TestOverflowInsideQuotesHangs: a %CMNG write longer than at_host's 4095-character buffer loses
// its closing quote, so every later terminator is data and the board swallows everything until
// it is reset (modem-cmng-athost.md §2.4). One character less is accepted.
func TestOverflowInsideQuotesHangs(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	h.cmd("AT+CMEE=1")

	head := `AT%CMNG=0,7,0,"`
	// Exactly at the limit: 4095 characters including the closing quote.
	fits := head + strings.Repeat("A", 4095-len(head)-1) + `"`
	if got := h.cmd(fits); got != "OK\r\n" {
		t.Fatalf("a 4095-character line: got %q, want OK", got)
	}
	// One more character: the closing quote is dropped and the board hangs.
	over := head + strings.Repeat("B", 4095-len(head)) + `"`
	before := b.state().Stats.TxBytes
	h.write(over + "\r")
	h.write("AT\rAT+CGSN\r")
	st := b.waitIdle(h.sent)
	if !st.RXInQuotes || st.RXPending != 4095 || st.Stats.TxBytes != before {
		t.Fatalf("want the AT host stuck inside quotes with a full buffer and no output; got in_quotes=%v pending=%d tx %d -> %d",
			st.RXInQuotes, st.RXPending, before, st.Stats.TxBytes)
	}
	if st.Hung || st.Busy {
		t.Fatalf("the modem never saw the command, yet state says hung=%v busy=%v", st.Hung, st.Busy)
	}
	if out := h.drain(); out != "" {
		t.Fatalf("stuck board answered %q", out)
	}

	// Reset recovers; the overflowing write never reached the modem.
	b.reset()
	h.bootATClient()
	if got := h.cmd("AT"); got != "OK\r\n" {
		t.Fatalf("AT after reset: %q", got)
	}
	list := h.cmd("AT%CMNG=1,7")
	if want := fmt.Sprintf("%%CMNG: 7,0,\"%s\"\r\nOK\r\n", shaHex(fits[len(head):len(fits)-1])); list != want {
		t.Fatalf("after reset the store holds:\n%q\nwant only the write that fit:\n%q", list, want)
	}
}

// TestOverflowOutsideQuotes: without an open quote the terminator still ends the line, so an
// over-long command is cut and answered (with ERROR), not swallowed.
func TestOverflowOutsideQuotes(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	if got := h.cmd("AT+CGSN" + strings.Repeat("X", 5000)); got != "ERROR\r\n" {
		t.Fatalf("over-long command: %q", got)
	}
	if st := b.state(); st.Stats.OverflowBytes != uint64(len("AT+CGSN")+5000-4095) {
		t.Fatalf("overflow bytes %d, want %d", st.Stats.OverflowBytes, len("AT+CGSN")+5000-4095)
	}
	if got := h.cmd("AT"); got != "OK\r\n" {
		t.Fatalf("AT afterwards: %q", got)
	}
}

// TestLineEndingsChangeTheHash: the modem hashes exactly the bytes between the quotes, so the
// same certificate with LF and with CRLF line breaks has two different SHA-256 values, each the
// hash of what was sent.
func TestLineEndingsChangeTheHash(t *testing.T) {
	for _, profile := range []string{"mfw_nrf9160_1.3.x", "mfw_nrf91x1_2.0.x"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			b := startBoard(t, sim.BoardConfig{Profile: profile})
			h := openHost(t, b.VCOM0(), 0)
			h.bootATClient()
			h.cmd("AT+CMEE=1")
			lf := certPEM(t, 600)
			crlf := strings.ReplaceAll(lf, "\n", "\r\n")
			if got := h.cmd(`AT%CMNG=0,100,0,"` + lf + `"`); got != "OK\r\n" {
				t.Fatalf("LF write: %q", got)
			}
			if got := h.cmd(`AT%CMNG=0,101,0,"` + crlf + `"`); got != "OK\r\n" {
				t.Fatalf("CRLF write: %q", got)
			}
			got := h.cmd("AT%CMNG=1")
			want := fmt.Sprintf("%%CMNG: 100,0,\"%s\"\r\n%%CMNG: 101,0,\"%s\"\r\n", shaHex(lf), shaHex(crlf))
			if !strings.HasPrefix(got, want) {
				t.Fatalf("list:\n got %q\nwant prefix %q", got, want)
			}
			if shaHex(lf) == shaHex(crlf) {
				t.Fatal("test is vacuous: LF and CRLF hash alike")
			}
			// Read-back returns the exact bytes, CRs included.
			if rd := h.cmd("AT%CMNG=2,101,0"); !strings.Contains(rd, `,"`+crlf+`"`) {
				t.Fatalf("read-back of the CRLF certificate lost bytes: %q", rd)
			}
		})
	}
}

// TestWriteWhileOnline: writes and deletes are refused with 518 while the modem is in normal
// mode (CFUN=1), as plain ERROR when +CMEE is 0; CFUN=4 allows them; reads stay allowed.
func TestWriteWhileOnline(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	steps := []struct{ cmd, want string }{
		{`AT%CMNG=0,9,4,"identity"`, "OK\r\n"},
		{"AT+CFUN=1", "OK\r\n"},
		{"AT+CFUN?", "+CFUN: 1\r\nOK\r\n"},
		{`AT%CMNG=0,9,3,"00112233"`, "ERROR\r\n"},
		{"AT+CMEE=1", "OK\r\n"},
		{`AT%CMNG=0,9,3,"00112233"`, "+CME ERROR: 518\r\n"},
		{"AT%CMNG=3,9,4", "+CME ERROR: 518\r\n"},
		{"AT%CMNG=2,9,4", fmt.Sprintf("%%CMNG: 9,4,\"%s\",\"identity\"\r\nOK\r\n", shaHex("identity"))},
		{"AT+CFUN=4", "OK\r\n"},
		{`AT%CMNG=0,9,3,"00112233"`, "OK\r\n"},
		{"AT%CMNG=3,9,4", "OK\r\n"},
		{"AT%CMNG=1,9", fmt.Sprintf("%%CMNG: 9,3,\"%s\"\r\nOK\r\n", shaHex("00112233"))},
	}
	for _, s := range steps {
		if got := h.cmd(s.cmd); got != s.want {
			t.Fatalf("%s: got %q, want %q", s.cmd, got, s.want)
		}
	}
}

// TestPersistenceAcrossReset: credentials live in modem NVM; a reset clears the AT host and the
// modem's volatile settings (CFUN, CMEE), not the store.
func TestPersistenceAcrossReset(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{StateDir: t.TempDir()})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	h.cmd("AT+CMEE=1")
	h.cmd("AT+CFUN=4")
	h.cmd(`AT%CMNG=0,16842753,4,"nrfsim-device"`)
	b.reset()
	h.bootATClient()
	if got := h.cmd("AT+CFUN?"); got != "+CFUN: 0\r\nOK\r\n" {
		t.Fatalf("CFUN after reset: %q", got)
	}
	if got := h.cmd("AT%CMNG=2,1,0"); got != "ERROR\r\n" {
		t.Fatalf("CMEE after reset should be 0 (plain ERROR): %q", got)
	}
	want := fmt.Sprintf("%%CMNG: 16842753,4,\"%s\"\r\nOK\r\n", shaHex("nrfsim-device"))
	if got := h.cmd("AT%CMNG=1,16842753"); got != want {
		t.Fatalf("after reset: %q, want %q", got, want)
	}
}
