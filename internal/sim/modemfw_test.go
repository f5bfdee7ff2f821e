package sim_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestModemFirmwareHealsBrokenStorage: a broken credential store hangs even the field report's
// tiny write, through resets and clear_faults; programming a modem firmware package heals it,
// switches what AT+CGMR answers, resets the board and keeps the credentials.
func TestModemFirmwareHealsBrokenStorage(t *testing.T) {
	t.Parallel()
	b := startBoard(t, sim.BoardConfig{})
	h := openHost(t, b.VCOM0(), 0)
	h.bootATClient()
	a2Want(t, b, h, "AT%CMNG=0,7,0,\"KEEP\"", "OK\r\n")
	b.fault(sim.Fault{Kind: "broken_storage"})
	if !b.state().BrokenStorage {
		t.Fatal("state does not show the broken storage")
	}
	tiny := func() {
		t.Helper()
		tx := b.state().Stats.TxBytes
		a2Write(t, b, h, "AT%CMNG=0,64738,0,\"TEST\"\r")
		if st := b.waitIdle(h.sent); !st.Hung || st.Stats.TxBytes != tx {
			t.Fatalf("the tiny write answered: hung=%v", st.Hung)
		}
		b.reset()
		h.expect("*** Booting nRF Connect SDK")
		h.bootATClient()
	}
	tiny()
	if err := b.ClearFaults(b.ctx()); err != nil {
		t.Fatal(err)
	}
	tiny() // resets and clear_faults do not heal it
	sum := sha256.Sum256([]byte("KEEP"))
	listed := "%CMNG: 7,0,\"" + strings.ToUpper(hex.EncodeToString(sum[:])) + "\"\r\nOK\r\n"
	a2Want(t, b, h, "AT%CMNG=1,7", listed) // listing still works

	dir := t.TempDir()
	pkg, err := sim.WriteModemPackage(dir, "nrf9160", "1.3.6")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ProgramModem(b.ctx(), pkg); err != nil {
		t.Fatal(err)
	}
	h.expect("*** Booting nRF Connect SDK")
	h.bootATClient()
	st := b.state()
	if st.BrokenStorage || st.ModemFirmware != "mfw_nrf9160_1.3.6" || st.Profile != "mfw_nrf9160_1.3.x" {
		t.Fatalf("after programming: broken=%v firmware %q profile %q", st.BrokenStorage, st.ModemFirmware, st.Profile)
	}
	a2Want(t, b, h, "AT+CGMR", "mfw_nrf9160_1.3.6\r\nOK\r\n")
	a2Want(t, b, h, "AT%CMNG=0,64738,0,\"TEST\"", "OK\r\n")
	a2Want(t, b, h, "AT%CMNG=1,7", listed) // the credential survived

	// A package of the other family, one of a version no profile models, a renamed one and an
	// application zip are refused, and the board keeps its firmware.
	other, _ := sim.WriteModemPackage(dir, "nrf91x1", "2.0.2")
	unknown, _ := sim.WriteModemPackage(dir, "nrf9160", "9.9.9")
	renamed := filepath.Join(dir, "modem.zip")
	if err := os.Link(pkg, renamed); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, "mfw_nrf9160_1.3.7.zip")
	f, _ := os.Create(app)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("manifest.json")
	w.Write([]byte("{}"))
	zw.Close()
	f.Close()
	for path, want := range map[string]string{other: "for nrf91x1", unknown: "no profile", renamed: "not a modem firmware package name", app: "no modem update image"} {
		if err := b.ProgramModem(b.ctx(), path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
	}
	if st := b.state(); st.ModemFirmware != "mfw_nrf9160_1.3.6" {
		t.Fatalf("a refused package changed the firmware to %s", st.ModemFirmware)
	}
}

// TestModemFirmwareOutlivesRestart: the programmed modem firmware and a broken store are NVM
// state: a board started again from its state file keeps them.
func TestModemFirmwareOutlivesRestart(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	cfg := sim.BoardConfig{SerialNumber: "000960001702", StateDir: state}
	b := startBoard(t, cfg)
	pkg, err := sim.WriteModemPackage(t.TempDir(), "nrf9160", "1.3.6")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ProgramModem(b.ctx(), pkg); err != nil {
		t.Fatal(err)
	}
	b.fault(sim.Fault{Kind: "broken_storage"})
	b.Close()
	b2 := startBoard(t, cfg)
	if st := b2.state(); st.ModemFirmware != "mfw_nrf9160_1.3.6" || !st.BrokenStorage {
		t.Fatalf("after restart: firmware %q broken %v", st.ModemFirmware, st.BrokenStorage)
	}
}
