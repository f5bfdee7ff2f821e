package at_test

import (
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
	s, _, _ := session(t, b, at.Config{Timing: at.Timing{Latency: 200 * time.Millisecond}, Progress: func(tr at.Transfer) {
		mu.Lock()
		got = append(got, tr)
		mu.Unlock()
	}})
	ctx := ctxT(t)
	if err := s.Sync(ctx, at.SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	content := strings.Repeat("0123456789", 100)
	cmd := `AT%CMNG=0,3,0,"` + content + `"`
	mu.Lock()
	got = nil
	mu.Unlock()
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
	if _, err := s.Exec(ctx, at.Cmd{Text: "AT%CMNG=2,3,0", Reply: 1200}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var last at.Transfer
	for _, tr := range got {
		if tr.Dir == at.Received {
			if tr.Done <= last.Done || tr.Total != 1200 {
				t.Fatalf("received reports not growing: %+v after %+v", tr, last)
			}
			last = tr
		}
	}
	if last.Done < len(content) {
		t.Fatalf("read-back reported %d bytes received, want at least the %d of the content", last.Done, len(content))
	}
}
