package at_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
	"github.com/nrfprov/nrfprov/internal/sim/simtest"
	"github.com/nrfprov/nrfprov/serialio"
)

// Sessions run against real virtual boards over real pseudo-terminals.

func board(t *testing.T, cfg sim.BoardConfig) *sim.Board {
	t.Helper()
	return simtest.Board(t, cfg)
}

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(30 * time.Second)

type traceLog struct {
	mu  sync.Mutex
	buf strings.Builder
	rx  strings.Builder // every received byte in order, however the reads split them
}

func (l *traceLog) add(_ time.Time, dir at.Direction, p []byte) {
	l.mu.Lock()
	fmt.Fprintf(&l.buf, "%s %q\n", dir, p)
	if dir == at.Received {
		l.rx.Write(p)
	}
	l.mu.Unlock()
}

// received is what came from the board, joined across reads.
func (l *traceLog) received() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rx.String()
}

func (l *traceLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// session opens the board's port and starts a session on it; the port is closed at cleanup.
func session(t *testing.T, b *sim.Board, cfg at.Config) (*at.Session, *serialio.Port, *traceLog) {
	t.Helper()
	p, err := serialio.Open(b.VCOM0(), serialio.Config{Baud: b.Config().Baud})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	tr := &traceLog{}
	cfg.Trace = tr.add
	if cfg.Timing.Latency == 0 {
		cfg.Timing.Latency = 500 * time.Millisecond
	}
	if cfg.Timing.WriteLatency == 0 {
		cfg.Timing.WriteLatency = 500 * time.Millisecond
	}
	return at.NewSession(p, cfg), p, tr
}

func upperSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestExecResultsAreTyped(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Exec(ctx, at.Cmd{Text: "AT+CGSN"})
	if err != nil || len(resp.Lines) != 1 || len(resp.Lines[0]) != 15 {
		t.Fatalf("AT+CGSN: %+v, %v", resp, err)
	}
	var er *at.ErrorResult
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,1,0"}); !errors.As(err, &er) {
		t.Fatalf("read with CMEE=0: %v, want *ErrorResult", err)
	}
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT+CMEE=1"}); err != nil {
		t.Fatal(err)
	}
	var ce *at.CMEError
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,1,0"}); !errors.As(err, &ce) || ce.Code != 513 {
		t.Fatalf("read of a missing credential: %v, want +CME ERROR 513", err)
	}
	if errors.Is(ce, at.ErrTimeout) {
		t.Fatal("a CME error must not look like a timeout")
	}
	resp, err = s.Exec(ctx, at.Cmd{Text: "AT%CMNG=1"})
	if err != nil || len(resp.Lines) != 3 || !strings.HasPrefix(resp.Lines[0], "%CMNG: 4294967293,10,") {
		t.Fatalf("list: %+v, %v", resp, err)
	}
}

// TestTimeoutOnAHungBoard: a board that never answers gives a *TimeoutError within the
// computed deadline, and the session goes on working after the board is reset.
func TestTimeoutOnAHungBoard(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Latency: 200 * time.Millisecond}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.InjectFault(ctx, sim.Fault{Kind: "hang"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Exec(ctx, at.Cmd{Text: "AT+CFUN=4"})
	var te *at.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, at.ErrTimeout) || len(te.Lines) != 0 || te.Partial != "" {
		t.Fatalf("hung command: %v (%+v)", err, te)
	}
	if !strings.Contains(err.Error(), "nothing arrived") {
		t.Fatalf("message %q should say nothing arrived", err)
	}
	if err := b.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx, at.SyncOptions{ExpectBoot: true}); err != nil {
		t.Fatalf("sync after reset: %v", err)
	}
}

// TestTruncatedReadBackIsVisible: a read-back cut by a small AT buffer times out with the
// unfinished line inside quotes, so the credential layer can name it.
func TestTruncatedReadBackIsVisible(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Latency: 200 * time.Millisecond}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("0123456789", 60)
	for _, c := range []string{"AT+CMEE=1", `AT%CMNG=0,3,0,"` + content + `"`} {
		if _, err := s.Exec(ctx, at.Cmd{Text: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.InjectFault(ctx, sim.Fault{Kind: "truncate", Bytes: 300}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,3,0", Reply: 700})
	var te *at.TimeoutError
	if !errors.As(err, &te) || !te.InQuote || !strings.HasPrefix(te.Partial, "%CMNG: 3,0,\"") || len(te.Partial) != 300 {
		t.Fatalf("truncated read: %v (%+v)", err, te)
	}
	// The next command is not confused by the leftover half line.
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT"}); err != nil {
		t.Fatalf("AT after a truncated read: %v", err)
	}
}

// TestNotificationsAreSeparated: a URC landing between the lines of a response is not part of
// the response; the caller gets it from Notifications.
func TestNotificationsAreSeparated(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"AT+CFUN=4", `AT%CMNG=0,1,4,"a"`, `AT%CMNG=0,2,4,"b"`} {
		if _, err := s.Exec(ctx, at.Cmd{Text: c}); err != nil {
			t.Fatal(err)
		}
	}
	// Queue the URC while the next command runs: make the modem slow, inject, then list.
	if err := b.InjectFault(ctx, sim.Fault{Kind: "slow", LatencyMS: 100}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var resp *at.Response
	var err error
	go func() {
		defer close(done)
		resp, err = s.Exec(ctx, at.Cmd{Text: "AT%CMNG=1"})
	}()
	for {
		st, serr := b.State(ctx)
		if serr != nil {
			t.Fatal(serr)
		}
		if st.Busy {
			break
		}
	}
	if ierr := b.InjectFault(ctx, sim.Fault{Kind: "urc", Text: "+CEREG: 2"}); ierr != nil {
		t.Fatal(ierr)
	}
	<-done
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range resp.Lines {
		if strings.Contains(l, "CEREG") {
			t.Fatalf("URC leaked into the response: %q", resp.Lines)
		}
	}
	if len(resp.Lines) != 5 {
		t.Fatalf("list lines %q", resp.Lines)
	}
	if got := s.Notifications(); len(got) != 1 || got[0] != "+CEREG: 2" {
		t.Fatalf("notifications %q", got)
	}
}

// TestEchoIsTolerated: with the device echoing, answers are still parsed.
func TestEchoIsTolerated(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{})
	ctx := ctxT(t)
	if err := b.InjectFault(ctx, sim.Fault{Kind: "echo", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Exec(ctx, at.Cmd{Text: "AT+CGMR"})
	if err != nil || len(resp.Lines) != 1 || resp.Lines[0] != "mfw_nrf9160_1.3.5" {
		t.Fatalf("CGMR with echo: %+v, %v", resp, err)
	}
}

// TestShellDialect: through MoSh's `at` command, including a multi-line credential, whose
// stored form has CR LF line breaks.
func TestShellDialect(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Personality: sim.ModemShell})
	s, _, _ := session(t, b, at.Config{Dialect: at.Shell, Terminator: at.TermCRLF})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Exec(ctx, at.Cmd{Text: "AT+CGMM"})
	if err != nil || len(resp.Lines) != 1 || resp.Lines[0] != "nRF9160-SICA" {
		t.Fatalf("CGMM over the shell: %+v, %v", resp, err)
	}
	content := "line one\nline two\n"
	if _, err := s.Exec(ctx, at.Cmd{Text: `AT%CMNG=0,12,0,"` + content + `"`, Writes: true}); err != nil {
		t.Fatal(err)
	}
	resp, err = s.Exec(ctx, at.Cmd{Text: "AT%CMNG=1,12,0"})
	want := fmt.Sprintf(`%%CMNG: 12,0,"%s"`, upperSHA(at.ShellStored(content)))
	if err != nil || len(resp.Lines) != 1 || resp.Lines[0] != want {
		t.Fatalf("list: %+v, %v; want %q", resp, err, want)
	}
	var ce *at.CMEError
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT+CMEE=1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,12,2"}); !errors.As(err, &ce) || ce.Code != 513 {
		t.Fatalf("CME over the shell: %v", err)
	}
}

// TestDetect finds each firmware's dialect and terminator; an application answers nothing.
func TestDetect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  sim.BoardConfig
		want at.Detected
	}{
		{"at_client", sim.BoardConfig{}, at.Detected{Dialect: at.Raw, Terminator: at.TermCR}},
		{"at_client_lf", sim.BoardConfig{Termination: sim.TermLF, TermSet: true}, at.Detected{Dialect: at.Raw, Terminator: at.TermLF}},
		{"at_client_crlf", sim.BoardConfig{Termination: sim.TermCRLF, TermSet: true}, at.Detected{Dialect: at.Raw, Terminator: at.TermCRLF}},
		{"slm", sim.BoardConfig{Personality: sim.SerialLTEModem}, at.Detected{Dialect: at.Raw, Terminator: at.TermCRLF}},
		{"modem_shell", sim.BoardConfig{Personality: sim.ModemShell}, at.Detected{Dialect: at.Shell, Terminator: at.TermCRLF}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := board(t, c.cfg)
			s, _, tr := session(t, b, at.Config{})
			ctx := ctxT(t)
			got, err := s.Detect(ctx, 300*time.Millisecond)
			if err != nil || got != c.want {
				t.Fatalf("detect: %+v, %v; want %+v\ntrace:\n%s", got, err, c.want, tr)
			}
			if _, err := s.Exec(ctx, at.Cmd{Text: "AT+CGMR"}); err != nil {
				t.Fatalf("AT+CGMR after detection: %v\ntrace:\n%s", err, tr)
			}
		})
	}
	t.Run("application", func(t *testing.T) {
		t.Parallel()
		b := board(t, sim.BoardConfig{Personality: sim.Application})
		s, _, _ := session(t, b, at.Config{})
		if _, err := s.Detect(ctxT(t), 200*time.Millisecond); !errors.Is(err, at.ErrNoATHost) {
			t.Fatalf("detect on an application: %v, want ErrNoATHost", err)
		}
	})
}

// TestSyncAfterPowerOnJunk: the first command after power-on answers ERROR; Sync gets past it.
func TestSyncAfterPowerOnJunk(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{FirstCommandError: true})
	s, _, tr := session(t, b, at.Config{})
	if err := s.Sync(ctxT(t), at.SyncOptions{}); err != nil {
		t.Fatalf("sync: %v\n%s", err, tr)
	}
}

// TestStreamGoneIsClosed: unplugging the board ends the session with ErrClosed, not a timeout.
func TestStreamGoneIsClosed(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Latency: 5 * time.Second}})
	ctx := ctxT(t)
	if err := b.InjectFault(ctx, sim.Fault{Kind: "slow", LatencyMS: 10000}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Exec(ctx, at.Cmd{Text: "AT"})
		errc <- err
	}()
	for {
		st, err := b.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Busy {
			break
		}
	}
	if err := b.Unplug(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, at.ErrClosed) {
		t.Fatalf("exec on an unplugged board: %v, want ErrClosed", err)
	}
}

// TestSecretsAreRedactedInTraces: a secret command is traced as its redacted form.
func TestSecretsAreRedactedInTraces(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, tr := session(t, b, at.Config{})
	ctx := ctxT(t)
	psk := "00112233445566778899aabbccddeeff"
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT+CFUN=4"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Exec(ctx, at.Cmd{Text: `AT%CMNG=0,5,3,"` + psk + `"`, Writes: true, Secret: true,
		Redacted: `AT%CMNG=0,5,3,<sha256:` + upperSHA(psk) + `>`})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tr.String(), psk) || !strings.Contains(tr.String(), upperSHA(psk)) {
		t.Fatalf("trace leaks the PSK or lacks its hash:\n%s", tr)
	}
}

// TestShellSecretsAndLongLines: through the shell, which echoes every byte of the command, a
// secret's echo never reaches the trace, and a 3 KB write fits its deadline (the echo counts).
func TestShellSecretsAndLongLines(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Personality: sim.ModemShell})
	s, _, tr := session(t, b, at.Config{Dialect: at.Shell, Terminator: at.TermCRLF, Timing: at.Timing{Latency: 300 * time.Millisecond, WriteLatency: 300 * time.Millisecond}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	key := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
	if _, err := s.Exec(ctx, at.Cmd{Text: `AT%CMNG=0,6,2,"` + key + `"`, Writes: true, Secret: true, Redacted: "AT%CMNG=0,6,2,<sha256>"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tr.String(), "MIGHAgEAMBMGByqGSM49") || !strings.Contains(tr.String(), "during a secret command") {
		t.Fatalf("the shell's echo of a key reached the trace:\n%s", tr)
	}
	long := strings.Repeat("0123456789abcdef", 3000/16)
	if _, err := s.Exec(ctx, at.Cmd{Text: `AT%CMNG=0,7,4,"` + long + `"`, Writes: true}); err != nil {
		t.Fatalf("3 KB write through the shell: %v", err)
	}
}

// TestDetectWhileBooting: a board reset just before detection drops the first probe while its
// AT host starts, then prints "Ready"; Detect asks again instead of declaring no AT host.
func TestDetectWhileBooting(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{ReadyDelay: 150 * time.Millisecond})
	s, _, tr := session(t, b, at.Config{})
	ctx := ctxT(t)
	if err := b.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Detect(ctx, 300*time.Millisecond)
	if err != nil || got != (at.Detected{Dialect: at.Raw, Terminator: at.TermCR}) {
		t.Fatalf("detect while booting: %+v, %v\ntrace:\n%s", got, err, tr)
	}
	if !strings.Contains(tr.received(), "Ready") {
		t.Fatalf("the probe did not meet the boot (no Ready in the trace):\n%s", tr)
	}
}

// TestLateAnswerIsNotTakenForTheNext: a command that times out is answered late (ERROR); the
// next command gets its own answer, not that one.
func TestLateAnswerIsNotTakenForTheNext(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	s, _, tr := session(t, b, at.Config{Timing: at.Timing{Latency: 2 * time.Second}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.InjectFault(ctx, sim.Fault{Kind: "slow", LatencyMS: 600}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT+NOSUCH", Timeout: 100 * time.Millisecond}); !errors.Is(err, at.ErrTimeout) {
		t.Fatalf("first command: %v, want a timeout", err)
	}
	resp, err := s.Exec(ctx, at.Cmd{Text: "AT+CGMR"})
	if err != nil || len(resp.Lines) != 1 || !strings.HasPrefix(resp.Lines[0], "mfw_") {
		t.Fatalf("next command: %+v, %v (the late ERROR taken for its answer?)\n%s", resp, err, tr)
	}
}
