package flash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/nrfprov/nrfprov/internal/qemutest"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/rtt/gdb"
)

// The test binary doubles as a flash tool: with FLASH_TEST_TOOL set it prints what a runner
// prints (progress on stdout, a warning on stderr) and exits with the status asked.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FLASH_TEST_TOOL"); mode != "" {
		fmt.Println("Parsing image file.")
		for _, p := range []int{10, 50, 100} {
			fmt.Printf("[ ### ] %3d%% Programming file\r\n", p)
		}
		fmt.Fprintln(os.Stderr, "WARNING: argv "+strings.Join(os.Args[1:], " "))
		if mode == "fail" {
			fmt.Fprintln(os.Stderr, "ERROR: verify error")
			os.Exit(55)
		}
		if code, ok := strings.CutPrefix(mode, "exit:"); ok {
			n, _ := strconv.Atoi(code)
			os.Exit(n)
		}
		os.Exit(0)
	}
	code := m.Run()
	qemutest.Cleanup() // the firmware the QEMU test built
	os.Exit(code)
}

func toolRunner(t *testing.T) (*Runner, LookPath) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Name: "testtool", Exe: "testtool", Program: []template{{{"--program", "{hex}"}}}, Kinds: map[ResetKind]map[string]string{ResetSystem: {}}}
	return r, func(f string) (string, error) {
		if f == "testtool" {
			return self, nil
		}
		return "", errors.New("not found")
	}
}

// TestExecStreamsOutputAndProgress: every line of both streams reaches the log as it comes, the
// percentages become progress, and the command's arguments arrive untouched by any shell.
func TestExecStreamsOutputAndProgress(t *testing.T) {
	t.Setenv("FLASH_TEST_TOOL", "ok")
	r, look := toolRunner(t)
	logger, hook := logtest.NewNullLogger()
	var mu sync.Mutex
	var pct []int
	cmds := []Command{{Argv: []string{"testtool", "a b", "$HOME", "'q'"}}}
	err := Exec(context.Background(), r, cmds, ExecOptions{
		Log:      logrus.NewEntry(logger),
		LookPath: look,
		Progress: func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			if p.Percent >= 0 {
				pct = append(pct, p.Percent)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pct) != "[10 50 100]" {
		t.Errorf("progress %v", pct)
	}
	var lines []string
	for _, e := range hook.AllEntries() {
		if e.Data["runner"] != "testtool" {
			t.Errorf("log entry without the runner: %v", e.Data)
		}
		lines = append(lines, e.Message)
	}
	all := strings.Join(lines, "\n")
	for _, w := range []string{"Parsing image file.", "100% Programming file", "WARNING: argv a b $HOME 'q'"} {
		if !strings.Contains(all, w) {
			t.Errorf("log lacks %q:\n%s", w, all)
		}
	}
	if strings.Contains(all, "\r") {
		t.Errorf("carriage returns reached the log: %q", all)
	}
}

// TestExecFailure: a failing tool gives a RunError (ErrRunner) with its exit status and last
// lines; the commands after it do not run; a missing executable names what to install.
func TestExecFailure(t *testing.T) {
	t.Setenv("FLASH_TEST_TOOL", "fail")
	r, look := toolRunner(t)
	marker := filepath.Join(t.TempDir(), "second-ran")
	cmds := []Command{{Argv: []string{"testtool", "one"}}, {Argv: []string{"testtool", "two"}, Files: []File{{Path: marker, Content: "x"}}}}
	err := Exec(context.Background(), r, cmds, ExecOptions{LookPath: look})
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, ErrRunner) || re.ExitCode != 55 {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "ERROR: verify error") || !strings.Contains(err.Error(), "testtool one") {
		t.Errorf("message lacks the tool's last words or the command: %v", err)
	}
	if _, serr := os.Stat(marker); serr == nil {
		t.Error("the second command ran after the first failed")
	}
	nj, _ := Lookup("nrfjprog")
	err = Exec(context.Background(), nj, []Command{{Argv: []string{"nrfjprog", "--reset"}}}, ExecOptions{LookPath: look})
	var ni *NotInstalledError
	if !errors.As(err, &ni) || !strings.Contains(err.Error(), "nRF Command Line Tools") {
		t.Errorf("missing nrfjprog: %v", err)
	}
}

// TestNrfjprogExitCodes: nrfjprog's documented return codes become errors callers act on; an
// undocumented one and another tool's codes stay a plain failure.
func TestNrfjprogExitCodes(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	look := func(string) (string, error) { return self, nil }
	nj, _ := Lookup("nrfjprog")
	cases := []struct {
		exe  string
		code int
		want error
		name string
	}{
		{"nrfjprog", 16, ErrProtected, "UnavailableOperationBecauseProtectionError"},
		{"nrfjprog", 40, ErrProbeNotFound, "InvalidSerialNumberError"},
		{"nrfjprog", 41, ErrNoProbe, "NoDebuggersError"},
		{"nrfjprog", 18, ErrWrongFamily, "WrongFamilyForDeviceError"},
		{"nrfjprog", 13, ErrToolArgs, "IncompatibleArgumentsError"},
		{"nrfjprog", 55, ErrVerifyFailed, "VerifyError"},
		{"nrfjprog", 58, ErrNotErased, "FlashNotErasedError"},
		{"nrfjprog", 99, nil, ""},
		{"nrfutil", 16, nil, ""},
	}
	all := []error{ErrProtected, ErrProbeNotFound, ErrNoProbe, ErrWrongFamily, ErrToolArgs, ErrVerifyFailed, ErrNotErased, ErrNoTarget}
	for _, c := range cases {
		t.Setenv("FLASH_TEST_TOOL", "exit:"+strconv.Itoa(c.code))
		err := Exec(context.Background(), nj, []Command{{Argv: []string{c.exe, "--reset"}}}, ExecOptions{LookPath: look})
		var re *RunError
		if !errors.As(err, &re) || re.ExitCode != c.code || !errors.Is(err, ErrRunner) {
			t.Fatalf("%s %d: %v", c.exe, c.code, err)
		}
		for _, e := range all {
			if errors.Is(err, e) != (e == c.want) {
				t.Errorf("%s %d: errors.Is(%v) = %v", c.exe, c.code, e, errors.Is(err, e))
			}
		}
		if c.name != "" && !strings.Contains(err.Error(), c.name) {
			t.Errorf("%s %d: message does not name the code: %v", c.exe, c.code, err)
		}
	}
}

// TestExecTimeout: a tool that never ends is killed at the deadline.
func TestExecTimeout(t *testing.T) {
	r, _ := toolRunner(t)
	cmds := []Command{{Argv: []string{"sleep", "30"}}}
	err := Exec(context.Background(), r, cmds, ExecOptions{Timeout: 100 * time.Millisecond})
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

// TestGDBRunnerLoadsAndResets: the built-in gdb runner writes an image through the GDB remote
// protocol over real TCP (nrfsim's server), proves it by reading it back, and resets the board.
func TestGDBRunnerLoadsAndResets(t *testing.T) {
	b := simtest.Board(t, sim.BoardConfig{SerialNumber: "000960000900", RTT: true})
	srv, err := sim.ServeGDB(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// An image for RAM (what a RAM-loaded test image or QEMU target takes): two segments.
	dir := t.TempDir()
	seg1 := []byte(strings.Repeat("nrfprov gdb load ", 300)) // several X packets
	seg2 := []byte{0x7d, 0x23, 0x24, 0x2a, 0x00, 0xff}       // bytes the protocol escapes
	p := filepath.Join(dir, "ram.elf")
	if err := os.WriteFile(p, elf32(0x20001000, seg1), 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := LoadImage(p)
	if err != nil {
		t.Fatal(err)
	}
	img.Segments = append(img.Segments, Segment{Addr: 0x20003000, Data: seg2})
	img.Size += len(seg2)
	before, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve("gdb", Target{GDBAddress: srv.Addr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := r.PlanProgram(Target{GDBAddress: srv.Addr()}, img, ResetSystem, dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	err = Exec(ctx, r, cmds, ExecOptions{Progress: func(p Progress) { lines = append(lines, p.Line) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range img.Segments {
		got := make([]byte, len(s.Data))
		if err := b.ReadMemory(ctx, s.Addr, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(s.Data) {
			t.Fatalf("memory at 0x%08x differs after the load", s.Addr)
		}
	}
	after, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Stats.Boots != before.Stats.Boots+1 || after.Halted {
		t.Fatalf("boots %d → %d, halted %v: want one reset and a running core", before.Stats.Boots, after.Stats.Boots, after.Halted)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "verified 5106 bytes") {
		t.Errorf("progress lines: %q", lines)
	}
	// A write outside the target's memory fails with the server's error, named.
	img.Segments = []Segment{{Addr: 0x10000000, Data: []byte{1}}}
	cmds, _ = r.PlanProgram(Target{GDBAddress: srv.Addr()}, img, ResetSystem, dir)
	if err := Exec(ctx, r, cmds, ExecOptions{}); !errors.Is(err, ErrRunner) || !strings.Contains(err.Error(), "0x10000000") {
		t.Fatalf("write outside RAM: %v", err)
	}
	// A reset command the server does not know fails the run, named, and resets nothing.
	before, _ = b.State(ctx)
	cmds, _ = r.PlanReset(Target{GDBAddress: srv.Addr(), GDBReset: "reset_board_please"}, ResetSystem, dir)
	if err := Exec(ctx, r, cmds, ExecOptions{}); !errors.Is(err, gdb.ErrUnknownCommand) || !strings.Contains(err.Error(), "reset_board_please") ||
		!strings.Contains(err.Error(), "--gdb-reset") {
		t.Fatalf("unknown reset command: %v", err)
	}
	if after, _ := b.State(ctx); after.Stats.Boots != before.Stats.Boots {
		t.Fatalf("boots %d → %d after a failed reset", before.Stats.Boots, after.Stats.Boots)
	}
}

// TestGDBSettings: the halt modes and the reset's monitor commands are read as documented; a
// bad halt mode is refused; the dry-run line shows the commands.
func TestGDBSettings(t *testing.T) {
	for s, want := range map[string]gdb.HaltMode{"": gdb.HaltMonitor, "monitor": gdb.HaltMonitor, "interrupt": gdb.HaltInterrupt, "none": gdb.HaltNone} {
		if got, err := ParseGDBHalt(s); err != nil || got != want {
			t.Errorf("halt %q: %v %v", s, got, err)
		}
	}
	if _, err := ParseGDBHalt("always"); err == nil {
		t.Error("halt always accepted")
	}
	r, _ := Lookup("gdb")
	for reset, want := range map[string]string{
		"":                   "(built in) gdb remote h:1: monitor reset; monitor go",
		"system_reset":       "(built in) gdb remote h:1: monitor system_reset",
		" reset run ; ; go ": "(built in) gdb remote h:1: monitor reset run; monitor go",
	} {
		cmds, err := r.PlanReset(Target{GDBAddress: "h:1", GDBReset: reset}, ResetSystem, "/w")
		if err != nil || len(cmds) != 1 || cmds[0].String() != want {
			t.Errorf("reset %q: %v %v, want %q", reset, cmds, err, want)
		}
	}
}
