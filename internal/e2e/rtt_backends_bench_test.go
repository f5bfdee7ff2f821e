package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/plugin"
)

// BenchmarkProvisionOverRTTBackends provisions the reference set (examples/shell, the files of examples/nrfcloud with CR LF line breaks: CA ≈ 1.9 KB,
// client certificate ≈ 1.2 KB, key ≈ 0.25 KB) on a fresh Modem Shell board over RTT through each
// backend of the rtt transport plugin, then again on the board now in sync. Reported per
// backend: <backend>_ms (full run) and <backend>_rerun_ms, and for jlink and openocd the ratio of
// their full run over the GDB backend's in the same run (<backend>_vs_gdb).
//
//	go test -run '^$' -bench ProvisionOverRTTBackends -benchtime 3x ./internal/e2e/
func BenchmarkProvisionOverRTTBackends(b *testing.B) {
	m, err := provision.Load("../../examples/shell/manifest.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	found, err := plugin.Discover(plugin.DiscoverConfig{Self: nrfprovBin, Builtins: []string{"serial", "rtt"}})
	if err != nil {
		b.Fatal(err)
	}
	logger, _ := logtest.NewNullLogger()
	h := plugin.NewHost(plugin.HostConfig{Found: found, Log: logrus.NewEntry(logger)})
	b.Cleanup(h.Close)
	names := []string{"gdb", "jlink", "openocd"}
	full := map[string]time.Duration{}
	rerun := map[string]time.Duration{}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		for j, name := range names {
			board, ep := rttBoard(b, fmt.Sprintf("0009600004%d%d", i%10, j), sim.TelnetOptions{})
			port := map[string]string{"gdb": ep.gdb, "jlink": "jlink://" + ep.telnet, "openocd": "openocd://" + ep.tcl}[name]
			o := provision.Options{Host: h, Device: device.Options{Transport: "rtt", Port: port}}
			start := time.Now()
			rep, err := provision.Run(ctxT(b), m, o)
			full[name] += time.Since(start)
			if err != nil || rep.Writes != 3 {
				b.Fatalf("%s: full run: %+v, %v", name, rep, err)
			}
			start = time.Now()
			rep, err = provision.Run(ctxT(b), m, o)
			rerun[name] += time.Since(start)
			if err != nil || rep.Writes != 0 {
				b.Fatalf("%s: re-run: %+v, %v", name, rep, err)
			}
			st, err := board.State(ctxT(b))
			if err != nil || st.Stats.RTTUpDropped != 0 {
				b.Fatalf("%s: board state %+v, %v", name, st.Stats, err)
			}
		}
	}
	for _, name := range names {
		b.ReportMetric(float64(full[name].Milliseconds())/float64(b.N), name+"_ms")
		b.ReportMetric(float64(rerun[name].Milliseconds())/float64(b.N), name+"_rerun_ms")
		if name != "gdb" {
			b.ReportMetric(float64(full[name])/float64(full["gdb"]), name+"_vs_gdb")
		}
	}
}
