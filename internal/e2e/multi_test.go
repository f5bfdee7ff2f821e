package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/sim"
)

// `nrfprov provision --board … --board …` and `--all`: several boards at once, one transport
// plugin process each, a report per board, and an overall exit code (docs/exit-codes.md).

type multiReport struct {
	Boards []struct {
		Board    string           `json:"board"`
		ExitCode int              `json:"exit_code"`
		Error    string           `json:"error"`
		Report   *provisionReport `json:"report"`
	} `json:"boards"`
	ExitCode int `json:"exit_code"`
}

func sysfsEnv(run string) []string {
	return []string{"NRFPROV_SYSFS_ROOT=" + filepath.Join(run, "sys"), "NRFPROV_DEV_ROOT=" + filepath.Join(run, "dev")}
}

// TestProvisionManyBoards: --all provisions every connected board concurrently; a board that
// fails (a modem with a power-off warning) does not stop the others, the report says which
// failed and why, and the overall exit code is the failed board's.
func TestProvisionManyBoards(t *testing.T) {
	t.Parallel()
	run := t.TempDir()
	sns := []string{"000960000301", "000960000302", "000960000303"}
	var boards []*sim.Board
	for _, sn := range sns {
		boards = append(boards, startBoard(t, sim.BoardConfig{RunDir: run, SerialNumber: sn}))
	}
	inject(t, boards[1], sim.Fault{Kind: "power_off_warning", Enabled: true})
	m, files := credSet(t, 77, "lf", "")
	env := sysfsEnv(run)

	r := runNrfprovEnv(t, env, "", "--log-level", "debug", "provision", "-m", m, "--all", "--json")
	if r.code != 6 {
		t.Fatalf("--all with one board refusing: exit %d, want 6 (the failed board's)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep multiReport
	decode(t, r.stdout, "provision", &rep)
	if rep.ExitCode != 6 || len(rep.Boards) != 3 {
		t.Fatalf("report: %+v", rep)
	}
	for i, b := range rep.Boards {
		if b.Board != sns[i] {
			t.Fatalf("board %d is %s, want %s", i, b.Board, sns[i])
		}
		if i == 1 {
			if b.ExitCode != 6 || !strings.Contains(b.Error, "528") {
				t.Fatalf("the refusing board: %+v", b)
			}
			continue
		}
		if b.ExitCode != 0 || b.Report == nil || len(b.Report.Results) != 3 {
			t.Fatalf("board %s: %+v", b.Board, b)
		}
		for _, res := range b.Report.Results {
			want := sha(files[map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"}[res.Type]])
			if res.Outcome != "verified" || res.SHA256 != want {
				t.Fatalf("board %s: %+v", b.Board, b.Report.Results)
			}
		}
		st, err := boards[i].State(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Credentials) != 3 {
			t.Fatalf("board %s holds %+v", b.Board, st.Credentials)
		}
	}
	// One transport plugin process per board, each with its own pid.
	pids := map[string]bool{}
	for _, m := range regexp.MustCompile(`transport started.*pid=(\d+)`).FindAllStringSubmatch(r.stderr, -1) {
		pids[m[1]] = true
	}
	if len(pids) != 3 {
		t.Fatalf("%d distinct transport processes, want 3:\n%s", len(pids), r.stderr)
	}

	// The warning gone, --board picks two of them (text report); the board that failed
	// converges and the done one is kept.
	if err := boards[1].ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	r = runNrfprovEnv(t, env, "", "--board", "960000302", "--board", "000960000303", "provision", "-m", m)
	if r.code != 0 || !strings.Contains(r.stdout, "== board 960000302: ok") || !strings.Contains(r.stdout, "== board 000960000303: ok") ||
		!strings.Contains(r.stdout, "2 of 2 boards done") || !strings.Contains(r.stderr, "[960000302] ") {
		t.Fatalf("--board twice: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// Different failures on different boards: exit 12.
	inject(t, boards[0], sim.Fault{Kind: "power_off_warning", Enabled: true})
	if err := boards[2].Flash(ctxT(t), sim.FirmwareImage{Personality: sim.Application}); err != nil {
		t.Fatal(err)
	}
	m2, _ := credSet(t, 79, "lf", "")
	r = runNrfprovEnv(t, env, "", "provision", "-m", m2, "--all", "--json", "--modem-latency", "300ms")
	decode(t, r.stdout, "provision", &rep)
	codes := fmt.Sprint(rep.Boards[0].ExitCode, rep.Boards[1].ExitCode, rep.Boards[2].ExitCode)
	if r.code != 12 || rep.ExitCode != 12 || codes != "6 0 4" {
		t.Fatalf("mixed failures: exit %d, per board %s\n%s", r.code, codes, r.stderr)
	}
}

// TestProvisionManyBoardsBadInput: several boards are refused where one board is meant.
func TestProvisionManyBoardsBadInput(t *testing.T) {
	t.Parallel()
	m, _ := credSet(t, 78, "lf", "")
	for _, args := range [][]string{
		{"--board", "1", "--board", "2", "list"},
		{"--board", "1", "--board", "1", "provision", "-m", m},
		{"--board", "1", "provision", "-m", m, "--all"},
		{"--port", "/dev/null", "provision", "-m", m, "--all"},
		{"--transport", "rtt", "--port", "127.0.0.1:1", "provision", "-m", m, "--all"},
	} {
		r := runNrfprov(t, "", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}

// BenchmarkProvision16Boards provisions 16 virtual boards at once with --all (one nrfprov, a
// transport process per board) and one board alone, each iteration on fresh boards. The floor
// of the 16-board run is measured and worked out in the same run, not from nrfprov: 16 bare
// floor processes (floorProcess: start, open the port, AT, OK) run at once on 16 other fresh
// boards, plus one board's least exchange for the manifest (minExchange; the boards talk in
// parallel). Reported:
//
//	ratio_16_vs_floor  the 16-board run's wall time over that floor (target <= 1.3)
//	ratio_16_vs_1      the 16-board run's wall time over the one-board run's
//	cpu_ms_per_board   CPU time (user + system, nrfprov and its transports) per board, 16-board run
//	board_cpu_ms_per_board  CPU time of this process, which runs the virtual boards, per board,
//	                   16-board run: the same 2 cores serve the boards and nrfprov
//	floor16_ms, sixteen_ms, one_ms
//
//	go test -run '^$' -bench Provision16Boards -benchtime 3x ./internal/e2e/
func BenchmarkProvision16Boards(b *testing.B) {
	const (
		cmdLatency   = 2 * time.Millisecond
		writeLatency = 50 * time.Millisecond
	)
	m, _ := credSet(b, 90, "lf", "")
	var one, many, manyCPU, simCPU, floor time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var ports []string
		var profile string
		for j := range 16 {
			bd := startBoard(b, sim.BoardConfig{RunDir: b.TempDir(), SerialNumber: fmt.Sprintf("000960899%03d", j),
				CommandLatency: cmdLatency, WriteLatency: writeLatency})
			ports = append(ports, bd.VCOM0())
			st, err := bd.State(ctxT(b))
			if err != nil {
				b.Fatal(err)
			}
			profile = st.Profile
		}
		floor += floorRun(b, ports...) + minExchange(b, m, revision(b, profile), false).time(115200, cmdLatency, writeLatency)
		for _, n := range []int{1, 16} {
			run := b.TempDir()
			for j := range n {
				startBoard(b, sim.BoardConfig{RunDir: run, SerialNumber: fmt.Sprintf("0009608%02d%03d", n, j),
					CommandLatency: cmdLatency, WriteLatency: writeLatency})
			}
			cmd := exec.Command(nrfprovBin, "provision", "-m", m, "--all", "--json")
			cmd.Env = append(os.Environ(), stateDirEnv(b), "NRFPROV_PLUGIN_LOCK="+filepath.Join(b.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
			cmd.Env = append(cmd.Env, sysfsEnv(run)...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			self0 := selfCPU(b)
			b.StartTimer()
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			b.StopTimer()
			boardsCPU := selfCPU(b) - self0
			if err != nil {
				b.Fatalf("%d boards: %v\n%s", n, err, errb.String())
			}
			var rep multiReport
			decode(b, out.String(), "provision", &rep)
			if len(rep.Boards) != n {
				b.Fatalf("%d boards, %d in the report", n, len(rep.Boards))
			}
			if n == 1 {
				one += took
			} else {
				many += took
				// wait4's usage covers nrfprov and the transport processes it waited for.
				manyCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
				simCPU += boardsCPU
			}
		}
	}
	b.ReportMetric(float64(many)/float64(floor), "ratio_16_vs_floor")
	b.ReportMetric(float64(many)/float64(one), "ratio_16_vs_1")
	b.ReportMetric(float64(manyCPU.Milliseconds())/float64(16*b.N), "cpu_ms_per_board")
	b.ReportMetric(float64(simCPU.Milliseconds())/float64(16*b.N), "board_cpu_ms_per_board")
	b.ReportMetric(float64(floor.Milliseconds())/float64(b.N), "floor16_ms")
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "one_ms")
	b.ReportMetric(float64(many.Milliseconds())/float64(b.N), "sixteen_ms")
}

// selfCPU is the CPU time (user + system) this process has used so far.
func selfCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
