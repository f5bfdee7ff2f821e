package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/serialio"
)

// BenchmarkProvision runs `nrfprov provision` with the reference set (examples/nrfcloud: CA ≈
// 1.9 KB, client certificate ≈ 1.2 KB, key ≈ 0.25 KB) on a fresh board at 115200 baud, then
// again on the board now in sync, each a whole process from start to exit. Each is compared
// with its floor, measured and worked out in the same run, and not from anything nrfprov sent:
// the bare floor process (floorProcess: start, open the port, AT, OK) plus the least exchange
// the manifest needs (minExchange: +CGMR, one list of its sec_tag, and for the full run three
// %CMNG=0 and one list to prove them) at 11 520 bytes/s with the board's command latency (2 ms)
// and write latency (50 ms).
//
//	full_ratio   the full run over its floor (target <= 1.15)
//	rerun_ratio  the in-sync re-run over its floor (target <= 1.5)
//	full_ms, full_floor_ms, rerun_ms, rerun_floor_ms, process_floor_ms
//
//	go test -run '^$' -bench 'Provision$' -benchtime 5x ./internal/e2e/
func BenchmarkProvision(b *testing.B) {
	const (
		baud         = 115200
		cmdLatency   = 2 * time.Millisecond
		writeLatency = 50 * time.Millisecond
		manifest     = "../../examples/nrfcloud/manifest.yaml"
	)
	env := append(os.Environ(), "NRFPROV_PLUGIN_LOCK="+filepath.Join(b.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	var full, rerun, proc, fullEx, rerunEx time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		board := simtest.Board(b, sim.BoardConfig{CommandLatency: cmdLatency, WriteLatency: writeLatency})
		drainBoot(b, board)
		st, err := board.State(ctxT(b))
		if err != nil {
			b.Fatal(err)
		}
		rev := revision(b, st.Profile)
		fullEx += minExchange(b, manifest, rev, false).time(baud, cmdLatency, writeLatency)
		rerunEx += minExchange(b, manifest, rev, true).time(baud, cmdLatency, writeLatency)
		proc += floorRun(b, board.VCOM0())
		b.StartTimer()
		took, out := timeRun(b, env, "--port", board.VCOM0(), "--json", "provision", "-m", manifest)
		full += took
		wantWrites(b, out, 3)
		took, out = timeRun(b, env, "--port", board.VCOM0(), "--json", "provision", "-m", manifest)
		rerun += took
		b.StopTimer()
		wantWrites(b, out, 0)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(float64(full)/float64(proc+fullEx), "full_ratio")
	b.ReportMetric(float64(rerun)/float64(proc+rerunEx), "rerun_ratio")
	b.ReportMetric(ms(full), "full_ms")
	b.ReportMetric(ms(proc+fullEx), "full_floor_ms")
	b.ReportMetric(ms(rerun), "rerun_ms")
	b.ReportMetric(ms(proc+rerunEx), "rerun_floor_ms")
	b.ReportMetric(ms(proc), "process_floor_ms")
}

// timeRun runs nrfprov to its end and returns how long it took and its output; it must succeed.
func timeRun(b *testing.B, env []string, args ...string) (time.Duration, string) {
	b.Helper()
	cmd := exec.Command(nrfprovBin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("nrfprov %v: %v\n%s", args, err, errb.String())
	}
	return took, out.String()
}

// wantWrites checks a provision report: every credential proven, n written.
func wantWrites(b *testing.B, out string, n int) {
	b.Helper()
	var rep provisionReport
	decode(b, out, "provision", &rep)
	if rep.Writes != n || len(rep.Results) != 3 {
		b.Fatalf("%d writes, %d results, want %d and 3:\n%s", rep.Writes, len(rep.Results), n, out)
	}
	for _, r := range rep.Results {
		if r.Outcome != "verified" && r.Outcome != "kept" {
			b.Fatalf("sec_tag %d type %d: %s\n%s", r.SecTag, r.Type, r.Outcome, out)
		}
	}
}

// revision is what the board's modem answers to +CGMR, from its profile.
func revision(tb testing.TB, profile string) string {
	tb.Helper()
	p, err := sim.LookupProfile(profile)
	if err != nil {
		tb.Fatal(err)
	}
	return p.Revision
}

// drainBoot takes the boot banner off the line, as a board that booted long before the run
// would have printed it to nobody.
func drainBoot(tb testing.TB, b *sim.Board) {
	tb.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	s := at.NewSession(p, at.Config{})
	if err := s.Settle(context.Background(), 20*time.Millisecond, 2*time.Second); err != nil {
		tb.Fatal(err)
	}
}
