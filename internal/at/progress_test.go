package at_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/sim"
)

// TestProgressReportsBytesAsTheyGoOut: a long %CMNG goes to the link in chunks, each reported
// with the running count, ending at the whole line; its read-back reports the bytes received.
func TestProgressReportsBytesAsTheyGoOut(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{})
	var mu sync.Mutex
	var got []at.Transfer
	var when []time.Time
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Latency: 200 * time.Millisecond}, PaceProgress: true, Progress: func(tr at.Transfer) {
		mu.Lock()
		got = append(got, tr)
		when = append(when, time.Now())
		mu.Unlock()
	}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("0123456789", 100)
	cmd := `AT%CMNG=0,3,0,"` + content + `"`
	mu.Lock()
	got, when = nil, nil
	mu.Unlock()
	t0 := time.Now()
	if _, err := s.Exec(ctx, at.Cmd{Text: cmd}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sent := got
	got = nil
	mu.Unlock()
	wire := len(cmd) + len(s.Config().Terminator.Bytes())
	want := (wire + at.ProgressChunk - 1) / at.ProgressChunk
	if len(sent) != want {
		t.Fatalf("%d reports for a %d-byte command, want %d: %+v", len(sent), wire, want, sent)
	}
	for i, tr := range sent {
		if tr.Dir != at.Sent || tr.Command != "%CMNG" || tr.Total != wire || tr.Done != min((i+1)*at.ProgressChunk, wire) {
			t.Fatalf("report %d: %+v (wire %d)", i, tr, wire)
		}
	}
	// The chunks follow the line: the last one is handed over no earlier than the line has
	// carried all before it (a lower bound, which pacing guarantees).
	if el, floor := when[len(sent)-1].Sub(t0), s.Config().Timing.WireTime((len(sent)-1)*at.ProgressChunk); el < floor {
		t.Fatalf("the command went out in %v, faster than the line carries it (%v)", el, floor)
	}
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,3,0", Reply: 1200}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var recv []at.Transfer
	for _, tr := range got {
		if tr.Dir == at.Received {
			recv = append(recv, tr)
		}
	}
	if len(recv) < 2 {
		t.Fatalf("received reports: %+v", recv)
	}
	for i, tr := range recv[:len(recv)-1] {
		if tr.Total != 1200 || (i > 0 && tr.Done <= recv[i-1].Done) {
			t.Fatalf("received reports not growing: %+v", recv)
		}
	}
	// The last report closes the answer at its real size.
	if last := recv[len(recv)-1]; last.Done != recv[len(recv)-2].Done || last.Total != last.Done || last.Done < len(content) {
		t.Fatalf("last report %+v after %+v (content %d bytes)", last, recv[len(recv)-2], len(content))
	}
}

// TestCancelledCommandGoesOutWhole: cancelling while a paced command goes out ends the pacing,
// not the command: the AT host is not left inside its quotes, and the next command works.
func TestCancelledCommandGoesOutWhole(t *testing.T) {
	t.Parallel()
	b := board(t, sim.BoardConfig{Baud: 9600})
	var once sync.Once
	ctx, cancel := context.WithCancel(ctxT(t))
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Baud: 9600, Latency: 200 * time.Millisecond}, PaceProgress: true, Progress: func(tr at.Transfer) {
		if tr.Dir == at.Sent && tr.Done >= 4*at.ProgressChunk {
			once.Do(cancel) // a quarter of a second into a one-second command
		}
	}})
	if err := s.Sync(ctxT(t), at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := `AT%CMNG=0,7,0,"` + strings.Repeat("0123456789", 100) + `"`
	if _, err := s.Exec(ctx, at.Cmd{Text: cmd}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	// The write ends (its answer is drained), and the AT host is back at a prompt.
	if _, err := s.WaitFor(ctxT(t), 5*time.Second, "OK"); err != nil {
		t.Fatalf("the cancelled write's answer: %v", err)
	}
	if _, err := s.Exec(ctxT(t), at.Cmd{Text: "AT"}); err != nil {
		t.Fatalf("AT after a cancelled write: %v", err)
	}
}
