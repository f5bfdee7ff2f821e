package e2e

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/plugin"
)

// A prestarted transport is the one the next Start returns, and it works.
func TestPrestartIsTakenByStart(t *testing.T) {
	b := startBoard(t, sim.BoardConfig{SerialNumber: "000960000161"})
	h, _ := newHost(t, "", nil)
	h.Prestart("serial")
	c := start(t, h, "serial")
	c2 := start(t, h, "serial") // a second Start starts a second process
	if c.Pid() == 0 || c.Pid() == c2.Pid() {
		t.Fatalf("pids %d and %d", c.Pid(), c2.Pid())
	}
	conn := openConn(t, c, plugin.OpenRequest{Address: b.VCOM0()})
	exchange(t, conn, "AT")
}

// A prestarted transport that no Start takes is stopped by Close, also while it is starting.
func TestPrestartUntakenIsStoppedByClose(t *testing.T) {
	for _, wait := range []time.Duration{0, time.Second} {
		before := children(t, os.Getpid())
		h, _ := newHost(t, "", nil)
		h.Prestart("serial")
		time.Sleep(wait) // 0: Close while it starts; 1 s: (most likely) after it has started
		h.Close()
		for _, pid := range children(t, os.Getpid()) {
			if !slices.Contains(before, pid) {
				waitGone(t, pid)
			}
		}
		if _, err := h.Start(ctxT(t), "serial"); err == nil {
			t.Fatal("a closed host started a transport")
		}
	}
}
