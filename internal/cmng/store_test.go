package cmng_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/serialio"
)

// The Store runs against virtual boards (internal/sim) over real pseudo-terminals.

// Generous enough for a loaded CI machine running every package under -race; the hang tests pay
// one such deadline each.
var timing = at.Timing{Latency: 1500 * time.Millisecond, WriteLatency: 1500 * time.Millisecond}

func board(t *testing.T, cfg sim.BoardConfig) *sim.Board {
	t.Helper()
	return simtest.Board(t, cfg)
}

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(40 * time.Second)

// wire records what was sent, to prove what did (not) go on the link.
type wire struct {
	mu       sync.Mutex
	tx, rx   strings.Builder
	commands int
}

func (w *wire) add(_ time.Time, dir at.Direction, p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if dir == at.Sent {
		w.tx.Write(p)
		return
	}
	w.rx.Write(p)
}

func (w *wire) sent() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tx.String()
}

func (w *wire) received() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rx.String()
}

type rig struct {
	b    *sim.Board
	s    *at.Session
	st   *cmng.Store
	wire *wire
}

// open connects to b in the dialect its personality speaks, syncs, and enables CME codes.
func open(t *testing.T, b *sim.Board, o cmng.Options) *rig {
	t.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{Baud: b.Config().Baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	w := &wire{}
	cfg := at.Config{Timing: timing, Trace: w.add}
	switch b.Config().Personality {
	case sim.ModemShell:
		cfg.Dialect, cfg.Terminator = at.Shell, at.TermCRLF
	case sim.SerialLTEModem:
		cfg.Terminator = at.TermCRLF
	}
	if c := b.Config(); c.TermSet {
		switch c.Termination {
		case sim.TermCRLF:
			cfg.Terminator = at.TermCRLF
		case sim.TermLF:
			cfg.Terminator = at.TermLF
		}
	}
	s := at.NewSession(p, cfg)
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{Probe: 500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	st := cmng.New(s, o)
	if err := st.EnableCMEE(ctx); err != nil {
		t.Fatal(err)
	}
	return &rig{b: b, s: s, st: st, wire: w}
}

// testCert is a small, valid PEM certificate (the nRF91x1 profile checks certificates).
func testCert(t *testing.T, cn string) []byte {
	t.Helper()
	return []byte(testsupport.CertPEM(t, cn, 0))
}

func testKey(t *testing.T) []byte {
	t.Helper()
	return []byte(testsupport.KeyPEM(t))
}

func modemErr(t *testing.T, err error, code int) *cmng.ModemError {
	t.Helper()
	var me *cmng.ModemError
	if !errors.As(err, &me) || me.Code != code {
		t.Fatalf("err %v, want *ModemError %d", err, code)
	}
	if me.Message == "" || me.Hint == "" || me.Unwrap() == nil {
		t.Errorf("ModemError %d without message, hint or cause: %+v", code, me)
	}
	return me
}

// TestStoreEveryProfile runs every Store method against each firmware profile.
func TestStoreEveryProfile(t *testing.T) {
	t.Parallel()
	for _, profile := range sim.ProfileNames() {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			r := open(t, board(t, sim.BoardConfig{Profile: profile}), cmng.Options{})
			ctx := ctxT(t)
			prof, err := sim.LookupProfile(profile)
			if err != nil {
				t.Fatal(err)
			}
			st := r.st

			fw, err := st.FirmwareVersion(ctx)
			if err != nil || fw.Raw != prof.Revision {
				t.Fatalf("FirmwareVersion: %+v, %v; want %s", fw, err, prof.Revision)
			}
			if want := !prof.PlaceholderHashes; fw.RealHashes() != want {
				t.Errorf("%s: RealHashes %v, want %v", fw, fw.RealHashes(), want)
			}
			imei, err := st.IMEI(ctx)
			if err != nil || len(imei) != 15 {
				t.Errorf("IMEI: %q, %v", imei, err)
			}
			uuid, err := st.ModemUUID(ctx)
			if err != nil || uuid != prof.BuildUUID {
				t.Errorf("ModemUUID: %q, %v; want %s", uuid, err, prof.BuildUUID)
			}
			if err := st.SetCFUN(ctx, 1); err != nil {
				t.Fatal(err)
			}

			cert, key := testCert(t, "ca-"+profile), testKey(t)
			var caEntry cmng.Entry
			err = st.Offline(ctx, func() error {
				if fun, err := st.CFUN(ctx); err != nil || fun != 4 {
					return fmt.Errorf("inside Offline: CFUN %d, %v", fun, err)
				}
				var err error
				if caEntry, err = st.Write(ctx, 42, cmng.RootCACert, cert); err != nil {
					return err
				}
				if _, err := st.Write(ctx, 42, cmng.ClientKey, key); err != nil {
					return err
				}
				_, err = st.Write(ctx, 43, cmng.PSKID, []byte("device-1"))
				return err
			})
			if err != nil {
				t.Fatalf("%v\ntx: %q\nrx: %q", err, r.wire.sent(), r.wire.received())
			}
			if fun, err := st.CFUN(ctx); err != nil || fun != 1 {
				t.Errorf("after Offline: CFUN %d, %v; want 1 restored", fun, err)
			}
			if err := st.SetCFUN(ctx, 4); err != nil {
				t.Fatal(err)
			}

			wantHash := cmng.HashReal
			if prof.PlaceholderHashes {
				wantHash = cmng.HashPlaceholder
			}
			if caEntry.SecTag != 42 || caEntry.Type != cmng.RootCACert || caEntry.Hash != wantHash {
				t.Errorf("written entry %+v, want hash %s", caEntry, wantHash)
			}
			if wantHash == cmng.HashReal && caEntry.SHA256 != cmng.SHA256Hex(cert) {
				t.Errorf("written entry hash %s, want %s", caEntry.SHA256, cmng.SHA256Hex(cert))
			}

			all, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			user, owned := 0, 0
			for _, e := range all {
				if e.ModemOwned {
					owned++
					continue
				}
				user++
				if e.Hash != wantHash {
					t.Errorf("listed %+v, want hash %s", e, wantHash)
				}
			}
			if user != 3 || owned != len(prof.ModemOwned) {
				t.Errorf("List: %d user and %d modem-owned entries, want 3 and %d: %+v", user, owned, len(prof.ModemOwned), all)
			}
			tag42, err := st.ListTag(ctx, 42)
			if err != nil || len(tag42) != 2 || tag42[0].SecTag != 42 || tag42[1].SecTag != 42 {
				t.Errorf("ListTag(42): %+v, %v", tag42, err)
			}
			if e, err := st.Get(ctx, 42, cmng.ClientKey); err != nil || e == nil || e.Type != cmng.ClientKey {
				t.Errorf("Get(42, key): %+v, %v", e, err)
			}
			if e, err := st.Get(ctx, 42, cmng.ClientCert); err != nil || e != nil {
				t.Errorf("Get(42, cert) of a missing credential: %+v, %v; want nil, nil", e, err)
			}

			e, content, err := st.Read(ctx, 42, cmng.RootCACert)
			if err != nil || string(content) != string(cert) || e.Hash != wantHash {
				t.Errorf("Read(42, CA): %+v, %d bytes, %v", e, len(content), err)
			}
			if _, content, err := st.Read(ctx, 43, cmng.PSKID); err != nil || string(content) != "device-1" {
				t.Errorf("Read(43, PSK_ID): %q, %v", content, err)
			}
			before := strings.Count(r.wire.sent(), "AT%CMNG=2")
			var nr *cmng.NotReadableError
			if _, _, err := st.Read(ctx, 42, cmng.ClientKey); !errors.As(err, &nr) || !errors.Is(err, cmng.ErrNotReadable) {
				t.Errorf("Read(42, key): %v, want *NotReadableError", err)
			}
			if after := strings.Count(r.wire.sent(), "AT%CMNG=2"); after != before {
				t.Error("Read of a key sent %CMNG=2 anyway")
			}
			_, _, err = st.Read(ctx, 44, cmng.RootCACert)
			modemErr(t, err, 513)

			if prof.KeyGen {
				csr, err := st.KeyGen(ctx, 50, "O=Acme,CN=dev-1")
				if err != nil || !csr.DigestOK || csr.SecTag != 50 || len(csr.DeviceUUID) != 36 {
					t.Fatalf("KeyGen: %+v, %v", csr, err)
				}
				req, err := x509.ParseCertificateRequest(csr.DER)
				if err != nil || req.Subject.CommonName != "dev-1" || req.Subject.Organization[0] != "Acme" {
					t.Errorf("CSR: %+v, %v", req, err)
				}
				if b, _ := pem.Decode(csr.PEM); b == nil || string(b.Bytes) != string(csr.DER) {
					t.Error("CSR PEM does not hold the DER")
				}
				if e, err := st.Get(ctx, 50, cmng.ClientKey); err != nil || e == nil {
					t.Errorf("the generated key is not listed: %+v, %v", e, err)
				}
				_, err = st.KeyGen(ctx, 50, "")
				if me := modemErr(t, err, 519); !strings.Contains(me.Hint, "delete it first") {
					t.Errorf("keygen into an occupied tag: hint %q", me.Hint)
				}
				tok, err := st.AttestToken(ctx)
				if err != nil || strings.Count(tok, ".") != 1 {
					t.Errorf("AttestToken: %q, %v", tok, err)
				}
			} else {
				_, err := st.KeyGen(ctx, 50, "")
				modemErr(t, err, cmng.CodePlainError)
				_, err = st.AttestToken(ctx)
				modemErr(t, err, cmng.CodePlainError)
			}

			if err := st.Delete(ctx, 43, cmng.PSKID); err != nil {
				t.Fatal(err)
			}
			if e, err := st.Get(ctx, 43, cmng.PSKID); err != nil || e != nil {
				t.Errorf("after Delete: %+v, %v", e, err)
			}
			modemErr(t, st.Delete(ctx, 43, cmng.PSKID), 513)

			deleted, err := st.DeleteAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantDeleted := 2
			if prof.KeyGen {
				wantDeleted = 3
			}
			if len(deleted) != wantDeleted {
				t.Errorf("DeleteAll deleted %+v, want %d entries", deleted, wantDeleted)
			}
			left, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != len(prof.ModemOwned) {
				t.Errorf("after DeleteAll: %+v, want the %d modem-owned entries", left, len(prof.ModemOwned))
			}
			for _, e := range left {
				if !e.ModemOwned {
					t.Errorf("DeleteAll left a user entry %+v", e)
				}
			}
		})
	}
}
