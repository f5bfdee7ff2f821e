package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/gdb"
	"github.com/nrfprov/nrfprov/serialio"
)

// The fault matrix (docs/faults.md, row for row): each fault is injected into a virtual board
// through its control API, `nrfprov provision` (or the verb the row names) runs as the built
// binary over each transport, and the outcome is checked: the credentials end verified, or
// nrfprov stops with the named error and exit code. Whatever the outcome, nothing nrfprov
// claims verified or kept differs from what the board holds; then, with the fault cleared, a
// re-run converges and the board holds exactly the manifest's bytes.

// backend is one way nrfprov reaches a board. Adding a transport is one entry here. Backends
// of one family (the rtt transport's gdb, jlink and openocd) share a column of docs/faults.md
// and the rows' n/a entries.
type backend struct {
	name   string
	family string
	start  func(t *testing.T, row faultRow, sn string) *rig
}

var faultBackends = []backend{
	{"serial", "serial", startSerialRig},
	{"rtt", "rtt", startRTTRig},
	{"rtt-jlink", "rtt", startRTTJLinkRig},
	{"rtt-openocd", "rtt", startRTTOpenOCDRig},
}

// rig is a board under test and how nrfprov reaches and resets it.
type rig struct {
	b       *sim.Board
	backend string
	link    []string // global flags that reach the board
	reset   []string // provision flags that give nrfprov a way to reset it (none: the transport can)
	crlf    bool     // the shell stores line breaks as CR LF
	gdbAddr string
}

func startSerialRig(t *testing.T, row faultRow, sn string) *rig {
	cfg := row.board
	cfg.SerialNumber = sn
	if row.midWrite {
		cfg.Baud = 9600 // a certificate takes ~0.6 s on the wire: long enough to act in the middle
	}
	b := startBoard(t, cfg)
	r := &rig{b: b, backend: "serial", link: []string{"--port", b.VCOM0()}, reset: []string{"--reset-cmd", resetCmd(b)}}
	if cfg.Baud != 0 {
		r.link = append(r.link, "--baud", strconv.Itoa(cfg.Baud))
	}
	return r
}

func startRTTRig(t *testing.T, row faultRow, sn string) *rig {
	cfg := row.board
	cfg.SerialNumber, cfg.Personality, cfg.RTT = sn, sim.ModemShell, true
	b := startBoard(t, cfg)
	srv := serveGDB(t, b)
	return &rig{b: b, backend: "rtt", link: []string{"--transport", "rtt", "--port", srv.Addr()}, crlf: true, gdbAddr: srv.Addr()}
}

// startRTTJLinkRig reaches the board through J-Link's RTT telnet server, resetting it through
// the GDB server of the same J-Link session (gdb=).
func startRTTJLinkRig(t *testing.T, row faultRow, sn string) *rig {
	r := startRTTRig(t, row, sn)
	tel, err := sim.ServeRTTTelnet(r.b, sim.TelnetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.Close() })
	r.link = []string{"--transport", "rtt", "--port", "jlink://" + tel.Addr(), "--transport-opt", "gdb=" + r.gdbAddr}
	return r
}

// startRTTOpenOCDRig reaches the board through OpenOCD's Tcl port and RTT server.
func startRTTOpenOCDRig(t *testing.T, row faultRow, sn string) *rig {
	r := startRTTRig(t, row, sn)
	ocd, err := sim.ServeOpenOCD(r.b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ocd.Close() })
	r.link = []string{"--transport", "rtt", "--port", "openocd://" + ocd.Addr()}
	return r
}

// outcome is what a faulted run may end in: an exit code and what stderr must say.
type outcome struct {
	code int
	msg  string // for a non-zero code: a substring of stderr naming the error
}

// faultRow is one row of the matrix.
type faultRow struct {
	name     string
	board    sim.BoardConfig   // board settings beyond the backend's
	na       map[string]string // backend → why the row does not apply there
	midWrite bool              // the row acts while a write is on the wire (slow link on serial)
	// before runs before nrfprov (inject the fault); args replaces the provision command line
	// (after the link flags); during acts while nrfprov runs (on mid-write rows, once a write
	// is on the wire); its ctx ends when nrfprov does.
	before func(t *testing.T, r *rig, m manifestFiles)
	args   func(r *rig, m manifestFiles) []string
	during func(ctx context.Context, t *testing.T, r *rig, pid int)
	// want is the one outcome every backend must reach; wantOn overrides it for a backend
	// (by name) where that backend must reach another one. No alternatives: a regression
	// cannot hide in another branch.
	want   outcome
	wantOn map[string]outcome
	// after puts the board back in working order beyond clear_faults (replug, flash back).
	after func(t *testing.T, r *rig)
	// rerun is the exit code of the converging re-run (0, or 10 on placeholder firmware).
	rerun int
}

type manifestFiles struct {
	path  string
	tag   uint32
	files map[string]string
}

// outcomeOn is the one outcome the row must reach over the backend.
func (r faultRow) outcomeOn(backend string) outcome {
	if o, ok := r.wantOn[backend]; ok {
		return o
	}
	return r.want
}

func fault(f sim.Fault) func(t *testing.T, r *rig, m manifestFiles) {
	return func(t *testing.T, r *rig, _ manifestFiles) { inject(t, r.b, f) }
}

func inject(t *testing.T, b *sim.Board, f sim.Fault) {
	t.Helper()
	if err := b.InjectFault(ctxT(t), f); err != nil {
		t.Fatal(err)
	}
}

func resetBoard(t *testing.T, r *rig) {
	t.Helper()
	if err := r.b.Reset(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := r.b.WaitReady(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// caFile is the manifest's root CA as a file `write` can send over the rig's link: with CR LF
// line breaks through the shell, which stores nothing else exactly.
func (r *rig) caFile(m manifestFiles) string {
	if !r.crlf {
		return filepath.Join(filepath.Dir(m.path), "ca.pem")
	}
	p := filepath.Join(filepath.Dir(m.path), "ca-crlf.pem")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(m.files["ca.pem"], "\n", "\r\n")), 0o600); err != nil {
		panic(err)
	}
	return p
}

func provisionArgs(r *rig, m manifestFiles) []string {
	return append([]string{"provision", "-m", m.path}, r.reset...)
}

func serialOnly(reason string) map[string]string { return map[string]string{"rtt": reason} }
func rttOnly(reason string) map[string]string    { return map[string]string{"serial": reason} }

const (
	naNoLine = "RTT moves bytes through target RAM with the debugger's checksummed memory access: there is no line to lose, flip or mis-clock bytes on (the GDB packet decoder is fuzzed, rtt/gdb)"
	naNoCB   = "a UART has no RTT control block"
)

func cme(code int) outcome { return outcome{6, fmt.Sprintf("+CME ERROR: %d", code)} }

var faultRows = []faultRow{
	{
		name: "hang_inside_quotes",
		na:   serialOnly("Modem Shell ends a line at CR or LF whatever the quotes: there is no quote state to get stuck in (modem_hang covers a command that never answers)"),
		before: func(t *testing.T, r *rig, m manifestFiles) {
			breakBoard(t, r.b, m.tag, m.files["ca.pem"])
		},
		want: outcome{0, ""},
	},
	{
		name: "modem_hang",
		before: func(t *testing.T, r *rig, _ manifestFiles) {
			inject(t, r.b, sim.Fault{Kind: "hang", Count: 9})
		},
		args: func(r *rig, m manifestFiles) []string {
			return append([]string{"--modem-latency", "500ms"}, provisionArgs(r, m)...)
		},
		want: outcome{0, ""},
	},
	{
		name:   "modem_hang_without_reset",
		na:     serialOnly("the rtt transport always has a reset: the debugger's monitor reset (modem_hang)"),
		before: fault(sim.Fault{Kind: "hang", Count: 9}),
		args: func(r *rig, m manifestFiles) []string {
			return []string{"--modem-latency", "300ms", "provision", "-m", m.path}
		},
		want: outcome{5, "cannot reset it"},
	},
	{
		// The 5th command swallowed: the modem stops answering while nrfprov identifies it,
		// before anything is written.
		name:   "hang_while_identifying",
		before: fault(sim.Fault{Kind: "hang", Count: 4}),
		args: func(r *rig, m manifestFiles) []string {
			return append([]string{"--modem-latency", "500ms"}, provisionArgs(r, m)...)
		},
		want: outcome{0, ""},
	},
	{
		name:     "reset_mid_write",
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, _ int) {
			if err := r.b.Reset(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
		want: outcome{0, ""},
	},
	{
		name:     "bytes_dropped",
		na:       map[string]string{"rtt": naNoLine},
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, _ int) {
			// The board takes in what the host writes as it arrives; the fault applies to what
			// comes next: the listing that checks this write (17 bytes), then 283 bytes into
			// the next certificate's content, where a byte goes missing.
			inject(t, r.b, sim.Fault{Kind: "drop", Skip: 300, Count: 1})
		},
		want: outcome{7, "verification failed"},
	},
	{
		name:     "bytes_corrupted",
		na:       map[string]string{"rtt": naNoLine},
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, _ int) {
			inject(t, r.b, sim.Fault{Kind: "corrupt", Skip: 300, Count: 1, Seed: 3})
		},
		// A flipped bit that makes a quote or a line break ends the command early: ERROR.
		want: outcome{7, "verification failed"},
	},
	{
		name: "noise_before_banner",
		before: func(t *testing.T, r *rig, _ manifestFiles) {
			inject(t, r.b, sim.Fault{Kind: "noise", Count: 200, Seed: 7})
			if err := r.b.Reset(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
		want: outcome{0, ""},
	},
	{
		name: "urcs_between_lines",
		during: func(ctx context.Context, t *testing.T, r *rig, _ int) {
			// A notification whenever the modem is busy lands between the lines of the
			// response it is preparing.
			for range 6 {
				if !pollState(ctx, r.b, func(st sim.State) bool { return st.Busy }) {
					return // nrfprov is done
				}
				if err := r.b.InjectFault(ctx, sim.Fault{Kind: "urc", Text: "+CEREG: 2,\"76C1\",\"0102DA04\",7"}); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		},
		want: outcome{0, ""},
	},
	{
		name:   "echo_on",
		before: fault(sim.Fault{Kind: "echo", Enabled: true}),
		want:   outcome{0, ""},
	},
	{
		name: "cme_513_not_found",
		args: func(r *rig, m manifestFiles) []string { return []string{"delete", "9", "ROOT_CA_CERT"} },
		want: cme(513),
	},
	{
		name: "cme_514_no_access",
		args: func(r *rig, m manifestFiles) []string {
			return []string{"--allow-reserved", "write", "4000000000", "ROOT_CA_CERT", r.caFile(m)}
		},
		want: cme(514),
	},
	{
		name:   "cme_515_memory_full",
		before: fault(sim.Fault{Kind: "store_capacity", Count: 1}),
		want:   cme(515),
	},
	{
		name: "cme_518_modem_online",
		before: func(t *testing.T, r *rig, _ manifestFiles) {
			r.sendAT(t, "AT+CFUN=1")
		},
		args: func(r *rig, m manifestFiles) []string {
			return append([]string{"--keep-cfun"}, provisionArgs(r, m)...)
		},
		want: cme(518),
	},
	{
		name: "cme_514_modem_owned",
		args: func(r *rig, m manifestFiles) []string {
			return []string{"--allow-reserved", "write", "4294967293", "NORDIC_ID_ROOT_CA", r.caFile(m)}
		},
		want: cme(514),
	},
	{
		name:  "cme_527_invalid_content",
		board: sim.BoardConfig{Profile: "mfw_nrf91x1_2.0.x"},
		args: func(r *rig, m manifestFiles) []string {
			// PEM framing (what nrfprov checks) around bytes that are no certificate (what the
			// 2.x modem checks).
			bad := filepath.Join(filepath.Dir(m.path), "notpem.txt")
			if err := os.WriteFile(bad, []byte(notACertificate), 0o600); err != nil {
				panic(err)
			}
			return []string{"write", "64738", "ROOT_CA_CERT", bad}
		},
		want: cme(527),
	},
	{
		name:   "cme_528_power_off_warning",
		before: fault(sim.Fault{Kind: "power_off_warning", Enabled: true}),
		want:   cme(528),
	},
	{
		name: "truncated_read_back",
		before: func(t *testing.T, r *rig, m manifestFiles) {
			ok(t, append(r.link, provisionArgs(r, m)...)...)
			inject(t, r.b, sim.Fault{Kind: "truncate", Bytes: 200})
		},
		args: func(r *rig, m manifestFiles) []string {
			return []string{"read", strconv.Itoa(int(m.tag)), "ROOT_CA_CERT"}
		},
		want: outcome{8, "answer truncated"},
	},
	{
		name:  "placeholder_hashes",
		board: sim.BoardConfig{Profile: "mfw_nrf9160_0.7.0-29.alpha"},
		want:  outcome{10, "cannot be proven"},
		rerun: 10,
	},
	{
		name:     "unplug_replug_mid_write",
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, _ int) {
			if err := r.b.Unplug(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
		want: outcome{9, ""},
		after: func(t *testing.T, r *rig) {
			if err := r.b.Replug(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := r.b.WaitReady(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		name:     "transport_plugin_killed",
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, pid int) {
			child := pluginChild(t, pid)
			if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		},
		want: outcome{9, "transport"},
	},
	{
		name:   "slow_modem",
		before: fault(sim.Fault{Kind: "slow", LatencyMS: 400}),
		want:   outcome{0, ""},
	},
	{
		name: "modem_slower_than_deadline",
		// Slower than --modem-latency: detection's probes wait as long as the user says the
		// modem may take, so nothing answers in time, not even after a reset; the hint says to
		// raise --modem-latency.
		before: fault(sim.Fault{Kind: "slow", LatencyMS: 600}),
		args: func(r *rig, m manifestFiles) []string {
			return append([]string{"--modem-latency", "150ms"}, append(provisionArgs(r, m), "--max-recoveries", "1")...)
		},
		want: outcome{4, "raise --modem-latency"},
		// Over RTT the shell still holds the commands of the run that gave up, and answers
		// them late; a reset clears them (see the gaps in docs/faults.md).
		after: resetBoard,
	},
	{
		name:   "wrong_baud",
		na:     map[string]string{"rtt": "RTT has no line speed"},
		before: fault(sim.Fault{Kind: "line_speed", Enabled: true}),
		args: func(r *rig, m manifestFiles) []string {
			return append([]string{"--baud", "57600"}, provisionArgs(r, m)...)
		},
		want: outcome{4, "not even after a reset"},
	},
	{
		name: "application_firmware",
		before: func(t *testing.T, r *rig, _ manifestFiles) {
			if err := r.b.Flash(ctxT(t), sim.FirmwareImage{Personality: sim.Application}); err != nil {
				t.Fatal(err)
			}
		},
		// The application answers no AT. Over RTT it has no control block: the engines that
		// search RAM themselves (gdb, openocd) say so; J-Link's own RTT server finds nothing
		// to move and nothing answers.
		want:   outcome{4, "control block not found"},
		wantOn: map[string]outcome{"serial": {4, "no AT host answers"}, "rtt-jlink": {4, "no AT host answers"}},
		after: func(t *testing.T, r *rig) {
			p := sim.ATClient
			if r.backend == "rtt" {
				p = sim.ModemShell
			}
			if err := r.b.Flash(ctxT(t), sim.FirmwareImage{Personality: p}); err != nil {
				t.Fatal(err)
			}
			if err := r.b.WaitReady(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		name: "rtt_block_moves_after_flash",
		na:   rttOnly(naNoCB),
		before: func(t *testing.T, r *rig, m manifestFiles) {
			ok(t, append(r.link, provisionArgs(r, m)...)...)
			old, err := r.b.RTTAddress(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.b.Flash(ctxT(t), sim.FirmwareImage{Personality: sim.ModemShell}); err != nil {
				t.Fatal(err)
			}
			if err := r.b.WaitReady(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if now, err := r.b.RTTAddress(ctxT(t)); err != nil || now == old {
				t.Fatalf("the control block did not move: 0x%08x -> 0x%08x (%v)", old, now, err)
			}
		},
		want: outcome{0, ""},
	},
	{
		name: "rtt_descriptor_corrupted",
		na:   rttOnly(naNoCB),
		before: func(t *testing.T, r *rig, _ manifestFiles) {
			addr, err := r.b.RTTAddress(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			// Up buffer 0's SizeOfBuffer (ID[16], MaxNumUp, MaxNumDown, then sName, pBuffer,
			// SizeOfBuffer...) set past the end of RAM.
			var v [4]byte
			binary.LittleEndian.PutUint32(v[:], 0x7fffffff)
			if err := r.b.WriteMemory(ctxT(t), addr+16+8+8, v[:]); err != nil {
				t.Fatal(err)
			}
		},
		// The engine (gdb) names the bad descriptor; a probe's own RTT server (J-Link, OpenOCD)
		// moves no bytes from it, so nothing answers.
		want:   outcome{4, "no AT host answers"},
		wantOn: map[string]outcome{"rtt": {4, "corrupted"}},
		// A warm reset keeps a control block whose ID is intact (STRONG_CHECK): power cycle.
		after: func(t *testing.T, r *rig) {
			if err := r.b.Unplug(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := r.b.Replug(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := r.b.WaitReady(ctxT(t)); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		name:     "nrfprov_sigkill_mid_write",
		midWrite: true,
		during: func(_ context.Context, t *testing.T, r *rig, pid int) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		},
		want: outcome{-1, ""}, // killed: no exit code of its own
	},
}

// TestFaultMatrix runs every row over every backend.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for i, row := range faultRows {
		for j, be := range faultBackends {
			if _, na := row.na[be.family]; na {
				// The row has no meaning over this transport; docs/faults.md says n/a and why
				// (TestFaultDocMatchesMatrix keeps the two in step).
				continue
			}
			t.Run(row.name+"/"+be.name, func(t *testing.T) {
				t.Parallel()
				runFaultRow(t, row, be, fmt.Sprintf("0009%02d%06d", 70+j, i))
			})
		}
	}
}

func runFaultRow(t *testing.T, row faultRow, be backend, sn string) {
	r := be.start(t, row, sn)
	le := "lf"
	if r.crlf {
		le = "crlf" // through the shell only CR LF content is stored exactly
	}
	mPath, files := credSet(t, 4242, le, "")
	m := manifestFiles{path: mPath, tag: 4242, files: files}
	if row.before != nil {
		row.before(t, r, m)
	}
	args := provisionArgs(r, m)
	if row.args != nil {
		args = row.args(r, m)
	}
	args = append(append(append([]string{}, r.link...), args...), "--json")

	res := runFaulted(t, r, row, args)
	w := row.outcomeOn(be.name)
	if res.code != w.code || !strings.Contains(res.stderr, w.msg) {
		t.Fatalf("faulted run over %s: exit %d, want exit %d with %q\nstdout: %s\nstderr: %s", be.name, res.code, w.code, w.msg, res.stdout, res.stderr)
	}
	if res.code != 0 && res.code != -1 && !strings.Contains(res.stderr, "nrfprov: ") {
		t.Fatalf("exit %d without a named error:\n%s", res.code, res.stderr)
	}
	checkClaims(t, r, m, res.stdout)

	// The fault cleared and the board back in order, a re-run converges.
	if err := r.b.ClearFaults(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if row.after != nil {
		row.after(t, r)
	}
	again := runNrfprov(t, "", append(append(append([]string{}, r.link...), provisionArgs(r, m)...), "--json")...)
	if again.code != row.rerun {
		t.Fatalf("re-run: exit %d, want %d\nstdout: %s\nstderr: %s", again.code, row.rerun, again.stdout, again.stderr)
	}
	var rep provisionReport
	decode(t, again.stdout, "provision", &rep)
	if len(rep.Results) != 3 {
		t.Fatalf("re-run results: %+v", rep.Results)
	}
	for _, x := range rep.Results {
		if x.Outcome != "verified" && x.Outcome != "kept" && !(row.rerun == 10 && x.Outcome == "unverifiable") {
			t.Fatalf("re-run: %+v", rep.Results)
		}
	}
	st, err := r.b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := r.wantHashes(m)
	got := map[int]string{}
	for _, c := range st.Credentials {
		if c.SecTag == m.tag {
			got[c.Type] = c.SHA256
		}
	}
	for typ, h := range want {
		if got[typ] != h {
			t.Fatalf("after the re-run the board holds type %d as %s, want %s", typ, got[typ], h)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("after the re-run the board holds %v for sec_tag %d, want %v", got, m.tag, want)
	}
}

// wantHashes are the SHA-256 of the bytes the board must store for each type of the manifest.
func (r *rig) wantHashes(m manifestFiles) map[int]string {
	out := map[int]string{}
	for typ, name := range map[int]string{0: "ca.pem", 1: "client.pem", 2: "key.pem"} {
		c := m.files[name]
		if r.crlf {
			c = strings.ReplaceAll(c, "\n", "\r\n")
		}
		out[typ] = sha(c)
	}
	return out
}

// checkClaims: whatever a faulted run printed as verified or kept is what the board holds.
func checkClaims(t *testing.T, r *rig, m manifestFiles, stdout string) {
	t.Helper()
	if !strings.Contains(stdout, `"command": "provision"`) {
		return // another verb, or no report (a run stopped before it had one)
	}
	var rep provisionReport
	decode(t, stdout, "provision", &rep)
	st, err := r.b.State(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	held := map[[2]int]string{}
	for _, c := range st.Credentials {
		held[[2]int{int(c.SecTag), c.Type}] = c.SHA256
	}
	want := r.wantHashes(m)
	for _, x := range rep.Results {
		if x.Outcome != "verified" && x.Outcome != "kept" {
			continue
		}
		if h := held[[2]int{int(x.SecTag), x.Type}]; h != want[x.Type] || x.SHA256 != want[x.Type] {
			t.Fatalf("claimed %s for type %d, the board holds %s (want %s)", x.Outcome, x.Type, h, want[x.Type])
		}
	}
}

// runFaulted runs nrfprov; a row with a during action takes it while a write is on the wire.
func runFaulted(t *testing.T, r *rig, row faultRow, args []string) cliResult {
	t.Helper()
	if row.during == nil {
		return runNrfprov(t, "", args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, nrfprovBin, args...)
	cmd.Env = append(os.Environ(), stateDirEnv(t), "NRFPROV_PLUGIN_LOCK="+filepath.Join(t.TempDir(), "lock"), "NRFPROV_PLUGIN_DIR=", "NRFPROV_LOG_LEVEL=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runCtx, runDone := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); runDone() }()
	acted := make(chan struct{})
	go func() {
		// Failures here are reported with t.Error (or end this goroutine through t.Fatal);
		// the test goroutine waits for it before it goes on.
		defer close(acted)
		if row.midWrite {
			// A certificate line is on its way: the AT host (or the shell) holds part of it.
			if !pollState(runCtx, r.b, func(st sim.State) bool { return st.RXPending > 200 }) {
				t.Error("nrfprov ended before a write was on the wire")
				return
			}
		}
		row.during(runCtx, t, r, cmd.Process.Pid)
	}()
	var err error
	select {
	case err = <-done:
		<-acted
	case <-ctx.Done():
		<-acted
		t.Fatalf("nrfprov %s did not end; stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	if t.Failed() {
		t.FailNow()
	}
	if ctx.Err() != nil {
		t.Fatalf("nrfprov %s did not end by itself; stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	return cliResult{out.String(), errb.String(), exitCode(t, err)}
}

// pollState polls the board until cond holds or ctx ends.
func pollState(ctx context.Context, b *sim.Board, cond func(sim.State) bool) bool {
	for ctx.Err() == nil {
		st, err := b.State(ctx)
		if err != nil {
			return false
		}
		if cond(st) {
			return true
		}
	}
	return false
}

// pluginChild finds the transport plugin process nrfprov started.
func pluginChild(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				return c
			}
		}
	}
	t.Fatalf("nrfprov (pid %d) has no child process", pid)
	return 0
}

// sendAT runs one AT command on the board through its own link, as another program would.
func (r *rig) sendAT(t *testing.T, cmd string) {
	t.Helper()
	ctx := ctxT(t)
	if r.backend == "serial" {
		p, err := serialio.Open(r.b.VCOM0(), serialio.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		s := at.NewSession(p, at.Config{})
		if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(ctx, at.Cmd{Text: cmd}); err != nil {
			t.Fatal(err)
		}
		return
	}
	c, err := gdb.Dial(ctx, r.gdbAddr, gdb.Options{NoAck: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cb, err := rtt.Attach(ctx, c, rtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	up, err := cb.Up(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	down, err := cb.Down(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	w := &rtt.Writer{Ch: down, Poll: time.Millisecond}
	if _, err := w.Write(ctx, []byte("at "+cmd+"\r\n")); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 512)
	for !strings.Contains(got.String(), "OK") {
		n, err := up.Read(ctx, buf)
		if err != nil {
			t.Fatalf("%s over RTT: %v (so far %q)", cmd, err, got.String())
		}
		got.Write(buf[:n])
	}
}

// TestFaultDocMatchesMatrix: docs/faults.md lists the matrix's rows, in order, with n/a exactly
// where the test says a row does not apply.
func TestFaultDocMatchesMatrix(t *testing.T) {
	f, err := os.Open("../../docs/faults.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	var docRows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			if len(docRows) > 0 {
				break // the matrix is the first table
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
		case strings.HasPrefix(cells[0], "---"):
		default:
			docRows = append(docRows, cells)
		}
	}
	if header == nil {
		t.Fatal("docs/faults.md has no table")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(h)] = i
	}
	for _, be := range faultBackends {
		if _, ok := col[be.family]; !ok {
			t.Fatalf("docs/faults.md has no %q column: %v", be.family, header)
		}
	}
	var names []string
	for _, r := range faultRows {
		names = append(names, r.name)
	}
	var docNames []string
	for _, c := range docRows {
		docNames = append(docNames, strings.Trim(c[0], "`"))
	}
	if !slices.Equal(names, docNames) {
		t.Fatalf("docs/faults.md rows differ from the test's:\ndoc:  %v\ntest: %v", docNames, names)
	}
	for i, r := range faultRows {
		for _, be := range faultBackends {
			cell := docRows[i][col[be.family]]
			_, na := r.na[be.family]
			if docNA := strings.HasPrefix(strings.ToLower(cell), "n/a"); docNA != na {
				t.Errorf("%s over %s: doc says %q, test n/a = %v", r.name, be.name, cell, na)
			}
			if !na {
				want := r.outcomeOn(be.name).code
				if want == -1 {
					continue
				}
				if !strings.Contains(cell, fmt.Sprintf("exit %d", want)) {
					t.Errorf("%s over %s: doc says %q, test expects exit %d", r.name, be.name, cell, want)
				}
			}
		}
	}
}
