package cmng_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/serialio"
)

func fault(t *testing.T, b *sim.Board, f sim.Fault) {
	t.Helper()
	if err := b.InjectFault(ctxT(t), f); err != nil {
		t.Fatal(err)
	}
}

// TestModemErrors: each CME code the modem gives for credentials comes back as a *ModemError
// with its meaning and a hint.
func TestModemErrors(t *testing.T) {
	t.Parallel()
	const v13, v20 = "mfw_nrf9160_1.3.x", "mfw_nrf91x1_2.0.x"
	for _, c := range []struct {
		name    string
		profile string
		o       cmng.Options
		code    int
		run     func(t *testing.T, r *rig) error
		message string
		hint    string
	}{
		{name: "513_read_missing", profile: v13, code: 513, message: "not found", run: func(t *testing.T, r *rig) error {
			_, _, err := r.st.Read(ctxT(t), 9, cmng.RootCACert)
			return err
		}},
		{name: "513_delete_missing", profile: v20, code: 513, message: "not found", run: func(t *testing.T, r *rig) error {
			return r.st.Delete(ctxT(t), 9, cmng.ClientKey)
		}},
		{name: "514_reserved_tag", profile: v13, o: cmng.Options{AllowReserved: true}, code: 514, message: "reserved", run: func(t *testing.T, r *rig) error {
			_, err := r.st.Write(ctxT(t), 4000000000, cmng.RootCACert, testCert(t, "x"))
			return err
		}},
		{name: "515_store_full", profile: v13, code: 515, message: "memory full", hint: "delete", run: func(t *testing.T, r *rig) error {
			fault(t, r.b, sim.Fault{Kind: "store_capacity", Count: 1})
			if _, err := r.st.Write(ctxT(t), 1, cmng.PSKID, []byte("one")); err != nil {
				t.Fatalf("first write: %v", err)
			}
			_, err := r.st.Write(ctxT(t), 2, cmng.PSKID, []byte("two"))
			return err
		}},
		{name: "518_online", profile: v13, code: 518, message: "online", hint: "CFUN=4", run: func(t *testing.T, r *rig) error {
			if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
				t.Fatal(err)
			}
			_, err := r.st.Write(ctxT(t), 1, cmng.RootCACert, testCert(t, "x"))
			return err
		}},
		{name: "518_online_delete", profile: v20, code: 518, message: "online", hint: "--keep-cfun", run: func(t *testing.T, r *rig) error {
			if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
				t.Fatal(err)
			}
			return r.st.Delete(ctxT(t), 1, cmng.RootCACert)
		}},
		{name: "514_modem_owned", profile: v13, o: cmng.Options{AllowReserved: true}, code: 514, message: "reserved for the modem", run: func(t *testing.T, r *rig) error {
			_, err := r.st.Write(ctxT(t), 4294967293, cmng.NordicIDRootCA, testCert(t, "x"))
			return err
		}},
		{name: "527_invalid_pem", profile: v20, code: 527, message: "not a valid PEM certificate", hint: `literal \n`, run: func(t *testing.T, r *rig) error {
			_, err := r.st.Write(ctxT(t), 64738, cmng.RootCACert, []byte("HONKHONK"))
			return err
		}},
		{name: "527_literal_backslash_n", profile: v20, code: 527, message: "PEM", run: func(t *testing.T, r *rig) error {
			pem := strings.ReplaceAll(strings.TrimSpace(string(testCert(t, "x"))), "\n", `\n`)
			_, err := r.st.Write(ctxT(t), 64738, cmng.ClientCert, []byte(pem))
			return err
		}},
		{name: "528_power_off_warning", profile: v13, code: 528, message: "power-off warning", hint: "supply", run: func(t *testing.T, r *rig) error {
			fault(t, r.b, sim.Fault{Kind: "power_off_warning", Enabled: true})
			_, err := r.st.Write(ctxT(t), 1, cmng.PSKID, []byte("id"))
			return err
		}},
		{name: "error_without_cmee", profile: v13, code: cmng.CodePlainError, hint: "CMEE=1", run: func(t *testing.T, r *rig) error {
			if _, err := r.s.Exec(ctxT(t), at.Cmd{Text: "AT+CMEE=0"}); err != nil {
				t.Fatal(err)
			}
			return r.st.Delete(ctxT(t), 9, cmng.RootCACert)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := open(t, board(t, sim.BoardConfig{Profile: c.profile}), c.o)
			me := modemErr(t, c.run(t, r), c.code)
			if !strings.Contains(me.Message, c.message) || !strings.Contains(me.Error(), me.Message) || !strings.Contains(me.Hint, c.hint) {
				t.Errorf("%s: %q, hint %q", c.name, me.Error(), me.Hint)
			}
			var ce *at.CMEError
			var er *at.ErrorResult
			if c.code == cmng.CodePlainError && !errors.As(me, &er) || c.code != cmng.CodePlainError && (!errors.As(me, &ce) || ce.Code != c.code) {
				t.Errorf("%s: does not unwrap to the at error: %#v", c.name, me.Err)
			}
		})
	}
}

// TestPreflightSendsNothing: a refused write puts no byte on the link.
func TestPreflightSendsNothing(t *testing.T) {
	t.Parallel()
	r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
	before := r.wire.sent()
	long := []byte(strings.Repeat("A", 4096))
	for _, c := range []struct {
		tag     uint32
		typ     cmng.Type
		content []byte
	}{{1, cmng.RootCACert, long}, {2147483648, cmng.RootCACert, []byte("x")}, {1, cmng.NordicPubKey, []byte("x")}, {1, cmng.PSK, []byte(`"`)}} {
		if _, err := r.st.Write(ctxT(t), c.tag, c.typ, c.content); !errors.Is(err, cmng.ErrPreflight) {
			t.Errorf("Write(%d, %v): %v, want ErrPreflight", c.tag, c.typ, err)
		}
	}
	if after := r.wire.sent(); after != before {
		t.Errorf("refused writes sent %q", after[len(before):])
	}
}

// TestPreflightCRLFTerminatorCounts: in at_host's CRLF mode the CR stays in the line buffer, so
// the longest write is one character shorter; a command exactly at the limit is stored whole
// and one over is refused before sending (not left to hang the board).
func TestPreflightCRLFTerminatorCounts(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Termination: sim.TermCRLF, TermSet: true})
	r := open(t, b, cmng.Options{})
	if r.s.Config().Terminator != at.TermCRLF {
		t.Fatal("the session should end lines with CR LF")
	}
	overhead := len(cmng.WriteCommand(7, cmng.PSKID, nil))
	fits := []byte(strings.Repeat("I", cmng.LineLimitATClient-1-overhead))
	e, err := r.st.Write(ctxT(t), 7, cmng.PSKID, fits)
	if err != nil || e.SHA256 != cmng.SHA256Hex(fits) {
		t.Fatalf("write of a line at the CRLF limit: %+v, %v", e, err)
	}
	over := append(fits, 'I')
	if err := cmng.Preflight(7, cmng.PSKID, over, at.Raw, cmng.Options{}); err != nil {
		t.Fatalf("the terminator-agnostic Preflight counts no CR: %v", err)
	}
	if _, err := r.st.Write(ctxT(t), 7, cmng.PSKID, over); !errors.Is(err, cmng.ErrPreflight) {
		t.Errorf("write one over the CRLF limit: %v, want ErrPreflight", err)
	}
}

// TestTruncatedReadBack: a read-back longer than the AT host's response buffer arrives cut,
// without its closing quote or final result; it is named, with the fix.
func TestTruncatedReadBack(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, err error) {
		t.Helper()
		var tr *cmng.TruncatedError
		if !errors.As(err, &tr) || !errors.Is(err, cmng.ErrTruncated) {
			t.Fatalf("err %v, want *TruncatedError", err)
		}
		if !strings.Contains(err.Error(), "CONFIG_AT_HOST_CMD_MAX_LEN") || !strings.Contains(err.Error(), "read sec_tag") || tr.Received == 0 {
			t.Errorf("message %q does not name the fix and the read", err)
		}
		if !errors.Is(err, at.ErrTimeout) {
			t.Errorf("%v: the timeout behind it is lost", err)
		}
	}
	t.Run("0.7.0_1KB_buffer", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{Profile: "mfw_nrf9160_0.7.0-29.alpha"}), cmng.Options{})
		// 1000 bytes of content is written fine on 0.7.0, but its read-back does not fit 1 KB.
		body := strings.Repeat(strings.Repeat("Q", 63)+"\n", 15)
		cert := []byte("-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----\n")[:1000]
		e, err := r.st.Write(ctxT(t), 64738, cmng.RootCACert, cert)
		if err != nil || e.Hash != cmng.HashPlaceholder || e.SHA256 != strings.Repeat("00", 32) {
			t.Fatalf("write on 0.7.0: %+v, %v (placeholder hash, no verify error expected)", e, err)
		}
		_, _, err = r.st.Read(ctxT(t), 64738, cmng.RootCACert)
		check(t, err)
	})
	t.Run("truncate_fault", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
		if _, err := r.st.Write(ctxT(t), 5, cmng.RootCACert, testCert(t, "x")); err != nil {
			t.Fatal(err)
		}
		fault(t, r.b, sim.Fault{Kind: "truncate", Bytes: 300})
		_, _, err := r.st.Read(ctxT(t), 5, cmng.RootCACert)
		check(t, err)
		var tr *cmng.TruncatedError
		if errors.As(err, &tr) && (tr.Received < 200 || tr.Received > 300) {
			t.Errorf("received %d bytes, the board sent 300", tr.Received)
		}
	})
}

// TestSeedScenario replays the field report on mfw 0.7.0: a 1.5 KB certificate write hangs, the
// modem lists the entry anyway (with a placeholder hash), and its read-back is truncated.
func TestSeedScenario(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Profile: "mfw_nrf9160_0.7.0-29.alpha"})
	r := open(t, b, cmng.Options{})
	body := strings.Repeat(strings.Repeat("M", 64)+"\n", 23)
	cert := []byte("-----BEGIN CERTIFICATE-----\n" + body + "-----END CERTIFICATE-----\n")
	start := time.Now()
	_, err := r.st.Write(ctxT(t), 64738, cmng.RootCACert, cert)
	if !errors.Is(err, at.ErrTimeout) {
		t.Fatalf("write of %d bytes on 0.7.0: %v, want a timeout", len(cert), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the hung write took %v to give up", d)
	}
	if err := b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.s.Sync(ctxT(t), at.SyncOptions{ExpectBoot: true, BootTimeout: 5 * time.Second, Probe: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r.st.EnableCMEE(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	es, err := r.st.List(ctxT(t))
	if err != nil || len(es) != 1 || es[0].Hash != cmng.HashPlaceholder {
		t.Fatalf("list after the hang: %+v, %v; want one placeholder entry", es, err)
	}
	_, _, err = r.st.Read(ctxT(t), 64738, cmng.RootCACert)
	if !errors.Is(err, cmng.ErrTruncated) {
		t.Errorf("read of the partial entry: %v, want ErrTruncated", err)
	}
}

// TestWriteVerifiesHash: a byte corrupted on the way to the modem makes it store other
// content, which the listed hash exposes.
func TestWriteVerifiesHash(t *testing.T) {
	t.Parallel()
	r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
	content := []byte(strings.Repeat("ABCDEFGH", 20))
	fault(t, r.b, sim.Fault{Kind: "corrupt", Skip: 60, Count: 1, Seed: 3})
	_, err := r.st.Write(ctxT(t), 11, cmng.PSKID, content)
	var ve *cmng.VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, cmng.ErrVerify) {
		t.Fatalf("write with a corrupted byte: %v, want *VerifyError", err)
	}
	if ve.Want != cmng.SHA256Hex(content) || ve.Got == "" || ve.Got == ve.Want || ve.SecTag != 11 || ve.Type != cmng.PSKID {
		t.Errorf("VerifyError %+v", ve)
	}
	if err := r.b.ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if e, err := r.st.Write(ctxT(t), 11, cmng.PSKID, content); err != nil || e.SHA256 != cmng.SHA256Hex(content) {
		t.Errorf("clean rewrite: %+v, %v", e, err)
	}
}

// TestShellDialectStoresCRLF: through Modem Shell the modem stores CR LF line breaks: LF content
// is refused before sending (it would be stored as other bytes), CR LF content is stored exactly.
func TestShellDialectStoresCRLF(t *testing.T) {
	t.Parallel()
	r := open(t, board(t, sim.BoardConfig{Personality: sim.ModemShell}), cmng.Options{})
	cert := testCert(t, "shell")
	if strings.Contains(string(cert), "\r") {
		t.Fatal("test certificate should have LF line breaks")
	}
	if _, err := r.st.Write(ctxT(t), 12, cmng.RootCACert, cert); !errors.Is(err, cmng.ErrPreflight) {
		t.Fatalf("LF write through the shell: %v, want refused before sending", err)
	}
	if st, err := r.b.State(ctxT(t)); err != nil || len(st.Credentials) != 0 {
		t.Fatalf("the refused write reached the modem: %+v, %v", st.Credentials, err)
	}
	crlf := strings.ReplaceAll(string(cert), "\n", "\r\n")
	e, err := r.st.Write(ctxT(t), 12, cmng.RootCACert, []byte(crlf))
	if err != nil || e.SHA256 != cmng.SHA256Hex([]byte(crlf)) {
		t.Fatalf("write through the shell: %+v, %v", e, err)
	}
	_, content, err := r.st.Read(ctxT(t), 12, cmng.RootCACert)
	if err != nil || string(content) != crlf {
		t.Errorf("read back through the shell: %q, %v", content, err)
	}
	// An over-long shell line is refused before sending.
	big := []byte(strings.Repeat(strings.Repeat("B", 63)+"\r\n", 55))
	if err := cmng.Preflight(12, cmng.RootCACert, big, at.Raw, cmng.Options{}); err != nil {
		t.Fatalf("raw preflight: %v", err)
	}
	if _, err := r.st.Write(ctxT(t), 12, cmng.RootCACert, big); !errors.Is(err, cmng.ErrPreflight) {
		t.Errorf("shell write of %d bytes: %v, want ErrPreflight", len(big), err)
	}
}

// TestSecretsStayHidden: a private key's content appears in no error and in nothing nrfprov
// traces as sent; its SHA-256 does.
func TestSecretsStayHidden(t *testing.T) {
	t.Parallel()
	r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
	key := testKey(t)
	body := strings.Split(string(key), "\n")[1]
	if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	_, err := r.st.Write(ctxT(t), 3, cmng.ClientKey, key)
	modemErr(t, err, 518)
	if strings.Contains(err.Error(), body[:20]) || !strings.Contains(err.Error(), "CLIENT_KEY") {
		t.Errorf("error %q", err)
	}
	var ce *at.CMEError
	if errors.As(err, &ce) && (strings.Contains(ce.Cmd, body[:20]) || !strings.Contains(ce.Cmd, cmng.SHA256Hex(key))) {
		t.Errorf("the at error shows %q", ce.Cmd)
	}
	if tx := r.wire.sent(); strings.Contains(tx, body[:20]) || !strings.Contains(tx, "<sha256:"+cmng.SHA256Hex(key)+">") {
		t.Errorf("trace of sent bytes: %q", tx)
	}
	psk := []byte("00112233445566778899aabbccddeeff")
	_, err = r.st.Write(ctxT(t), 3, cmng.PSK, psk)
	if err == nil || strings.Contains(err.Error(), string(psk)) {
		t.Errorf("PSK write error: %v", err)
	}
}

// TestOfflineRestores: Offline restores CFUN=1 after fn fails, and a failed restore is joined to
// fn's error.
func TestOfflineRestores(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	t.Run("fn_fails", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
		if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
			t.Fatal(err)
		}
		inside := -1
		err := r.st.Offline(ctxT(t), func() error {
			inside, _ = r.st.CFUN(ctxT(t))
			return boom
		})
		if !errors.Is(err, boom) || err.Error() != boom.Error() {
			t.Errorf("Offline: %v, want boom alone", err)
		}
		if inside != 4 {
			t.Errorf("CFUN inside Offline: %d, want 4", inside)
		}
		if fun, err := r.st.CFUN(ctxT(t)); err != nil || fun != 1 {
			t.Errorf("CFUN after Offline: %d, %v; want 1", fun, err)
		}
	})
	t.Run("ctx_cancelled", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
		if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(ctxT(t))
		err := r.st.Offline(ctx, func() error {
			cancel()
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Offline: %v", err)
		}
		if fun, err := r.st.CFUN(ctxT(t)); err != nil || fun != 1 {
			t.Errorf("CFUN after a cancelled Offline: %d, %v; want 1", fun, err)
		}
	})
	t.Run("restore_fails", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
		if err := r.st.SetCFUN(ctxT(t), 1); err != nil {
			t.Fatal(err)
		}
		err := r.st.Offline(ctxT(t), func() error {
			fault(t, r.b, sim.Fault{Kind: "hang", Count: 0}) // the next command (the restore) hangs
			return boom
		})
		if !errors.Is(err, boom) || !errors.Is(err, at.ErrTimeout) || !strings.Contains(err.Error(), "restoring functional mode 1") {
			t.Errorf("Offline with a hanging restore: %v, want boom joined with the timeout", err)
		}
	})
	t.Run("already_offline", func(t *testing.T) {
		t.Parallel()
		r := open(t, board(t, sim.BoardConfig{}), cmng.Options{})
		if err := r.st.SetCFUN(ctxT(t), 4); err != nil {
			t.Fatal(err)
		}
		before := strings.Count(r.wire.sent(), "AT+CFUN=")
		if err := r.st.Offline(ctxT(t), func() error { return nil }); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(r.wire.sent(), "AT+CFUN=") - before; n != 0 {
			t.Errorf("Offline from CFUN=4 sent %d CFUN changes", n)
		}
	})
}

// TestHungBoardDoesNotBlock: every Store call on a board that never answers returns a timeout
// (not a truncation: the shell's echo of the command is not part of an answer).
func TestHungBoardDoesNotBlock(t *testing.T) {
	t.Parallel()
	for _, p := range []sim.Personality{sim.ATClient, sim.ModemShell} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			r := open(t, board(t, sim.BoardConfig{Personality: p}), cmng.Options{})
			fault(t, r.b, sim.Fault{Kind: "hang", Count: 0})
			start := time.Now()
			_, err := r.st.List(ctxT(t))
			if !errors.Is(err, at.ErrTimeout) || errors.Is(err, cmng.ErrTruncated) {
				t.Errorf("List on a hung board: %v, want a plain timeout", err)
			}
			if _, _, err := r.st.Read(ctxT(t), 1, cmng.RootCACert); !errors.Is(err, at.ErrTimeout) || errors.Is(err, cmng.ErrTruncated) {
				t.Errorf("Read on a hung board: %v, want a plain timeout", err)
			}
			if _, err := r.st.IMEI(ctxT(t)); !errors.Is(err, at.ErrTimeout) {
				t.Errorf("IMEI on a hung board: %v", err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestBackToBackCommands: commands sent right after the previous answer all arrive whole. The
// AT host turns its receiver back on only after the answer's last byte (§2.3); a command sent at
// the answer's CR, before its LF, would lose its first bytes and come back as ERROR or nothing.
//
// At 9600 baud the board writes an answer's CR and LF a millisecond apart, so a host that sent
// at the CR would lose bytes every time.
func TestBackToBackCommands(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Baud: 9600})
	p, err := serialio.Open(b.VCOM0(), serialio.Config{Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	slow := timing
	slow.Baud = 9600
	s := at.NewSession(p, at.Config{Timing: slow})
	if err := s.Sync(ctxT(t), at.SyncOptions{Probe: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	st := cmng.New(s, cmng.Options{})
	for n := 0; n < 40; n++ {
		want := []int{0, 4}[n%2]
		if err := st.SetCFUN(ctxT(t), want); err != nil {
			t.Fatalf("command %d: %v", 2*n, err)
		}
		if fun, err := st.CFUN(ctxT(t)); err != nil || fun != want {
			t.Fatalf("command %d: CFUN %d, %v; want %d", 2*n+1, fun, err, want)
		}
	}
	if got, err := b.State(ctxT(t)); err != nil || got.Stats.DroppedBusy != 0 {
		t.Fatalf("bytes lost to the busy window: %+v, %v", got.Stats, err)
	}
}

// TestPersonalities: write, verify, list and read back through each device firmware.
func TestPersonalities(t *testing.T) {
	t.Parallel()
	for _, p := range []sim.Personality{sim.ATClient, sim.ModemShell, sim.SerialLTEModem} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			r := open(t, board(t, sim.BoardConfig{Personality: p}), cmng.Options{})
			cert := testCert(t, string(p))
			if p == sim.ModemShell {
				// The shell stores line breaks as CR LF: only CR LF content goes through exactly.
				lf := cert
				cert = []byte(strings.ReplaceAll(string(cert), "\n", "\r\n"))
				if _, err := r.st.Write(ctxT(t), 16842753, cmng.RootCACert, lf); !errors.Is(err, cmng.ErrPreflight) {
					t.Fatalf("LF content through the shell: %v, want refused before sending", err)
				}
			}
			stored := cert
			if !bytesEqual(cmng.Stored(cert, r.s.Config().Dialect), stored) {
				t.Fatalf("Stored for %s", p)
			}
			e, err := r.st.Write(ctxT(t), 16842753, cmng.RootCACert, cert)
			if err != nil || e.SHA256 != cmng.SHA256Hex(stored) || e.Hash != cmng.HashReal {
				t.Fatalf("Write: %+v, %v", e, err)
			}
			es, err := r.st.List(ctxT(t))
			if err != nil || len(es) != 4 || es[0].SecTag != 16842753 || es[0].SHA256 != e.SHA256 {
				t.Errorf("List: %+v, %v", es, err)
			}
			_, content, err := r.st.Read(ctxT(t), 16842753, cmng.RootCACert)
			if err != nil || string(content) != string(stored) {
				t.Errorf("Read: %q, %v", content, err)
			}
			if imei, err := r.st.IMEI(ctxT(t)); err != nil || len(imei) != 15 {
				t.Errorf("IMEI: %q, %v", imei, err)
			}
		})
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestSecretTimeoutKeepsNoEcho: when a private-key write through the (echoing) shell times out
// in the middle of the echo, the timeout error keeps how much arrived, not what.
func TestSecretTimeoutKeepsNoEcho(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Personality: sim.ModemShell})
	p, err := serialio.Open(b.VCOM0(), serialio.Config{Baud: b.Config().Baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	w := &wire{}
	s := at.NewSession(p, at.Config{Dialect: at.Shell, Terminator: at.TermCRLF, Trace: w.add,
		Timing: at.Timing{Baud: 2 * b.Config().Baud, Latency: time.Millisecond, WriteLatency: time.Millisecond, Slack: 1}})
	if err := s.Sync(ctxT(t), at.SyncOptions{Probe: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	key := []byte(strings.ReplaceAll(string(testKey(t)), "\n", "\r\n")) // the shell stores CR LF
	body := strings.Split(string(key), "\r\n")[1]
	fault(t, b, sim.Fault{Kind: "hang", Count: 0})
	// The session believes the link is twice as fast than it is: the deadline ends while
	// the shell is still echoing the line.
	_, err = cmng.New(s, cmng.Options{}).Write(ctxT(t), 3, cmng.ClientKey, key)
	var te *at.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err %v, want a timeout", err)
	}
	if te.Partial == "" {
		t.Fatalf("the deadline did not end inside the echo: %+v", te)
	}
	kept := te.Partial + strings.Join(te.Lines, "")
	if strings.Contains(kept, "PRIVATE") || strings.Contains(kept, body[:8]) || strings.Contains(fmt.Sprintf("%+v", err), body[:8]) {
		t.Errorf("the timeout keeps the echoed key: %+v", te)
	}
	// The rest of the echo arrives after the timeout, while the next command waits: it is not
	// traced in clear either (nor taken for that command's answer).
	if _, err := s.Exec(ctxT(t), at.Cmd{Text: "AT", Timeout: time.Second}); !errors.Is(err, at.ErrTimeout) {
		t.Fatalf("next command on the hung board: %v", err)
	}
	if got := w.received(); !strings.Contains(got, "not shown") || strings.Contains(got, body[:8]) || strings.Contains(got, "PRIVATE") {
		t.Errorf("the late echo of the key is traced in clear:\n%s", got)
	}
}
