package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestModeFor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if m := ModeFor(w, false); m != Lines {
		t.Errorf("pipe: %v, want lines", m)
	}
	if m := ModeFor(&bytes.Buffer{}, false); m != Lines {
		t.Errorf("buffer: %v, want lines", m)
	}
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer tty.Close()
	if m := ModeFor(tty, false); m != Bars {
		t.Errorf("terminal: %v, want bars", m)
	}
	if m := ModeFor(tty, true); m != None {
		t.Errorf("terminal with --json: %v, want none", m)
	}
}

// fakeClock steps a second per call so rates and times left are exact.
func fakeClock() func() time.Time {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	return func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
}

func TestLinesQuartersWithRateAndTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Lines)
	r.now = fakeClock()
	b := r.Board("")
	b.Step("write: %s", "16842753 root_ca_cert")
	for done := 0; done <= 2000; done += 100 {
		b.Transfer("%CMNG sent", done, 2000)
	}
	b.Transfer("AT", 3, 4) // short: not shown
	b.Percent("nrfjprog", 50)
	b.Percent("nrfjprog", 100)
	b.Done()
	r.Close()
	want := "write: 16842753 root_ca_cert\n" +
		"  %CMNG sent: 500 of 2000 bytes, 100 B/s, 15s left\n" +
		"  %CMNG sent: 1000 of 2000 bytes, 100 B/s, 10s left\n" +
		"  %CMNG sent: 1500 of 2000 bytes, 100 B/s, 5s left\n" +
		"  %CMNG sent: 2000 of 2000 bytes, 100 B/s\n" +
		"  nrfjprog: 50%\n" +
		"  nrfjprog: 100%\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestLinesArePrefixedPerBoard(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, Lines)
	a, b := r.Board("1050000001"), r.Board("1050000002")
	a.Step("apply: one")
	b.Transfer("%CMNG sent", 1000, 1000)
	r.Close()
	out := buf.String()
	if !strings.Contains(out, "[1050000001] apply: one\n") || !strings.Contains(out, "[1050000002]  %CMNG sent: 1000 of 1000 bytes") {
		t.Fatalf("not prefixed per board:\n%s", out)
	}
}

func TestNoneWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	r := New(&buf, None)
	b := r.Board("x")
	b.Step("connect")
	b.Transfer("%CMNG sent", 1000, 2000)
	b.Percent("flash", 10)
	b.Done()
	r.Close()
	var nilBoard *Board
	nilBoard.Step("x")
	nilBoard.Transfer("x", 1, 1000)
	if buf.Len() != 0 {
		t.Fatalf("wrote %q", buf.String())
	}
}

// TestBarsDrawOnATerminal draws two boards' bars on a real pseudo-terminal and reads the frames.
func TestBarsDrawOnATerminal(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(ptm); got <- b }()
	r := New(tty, ModeFor(tty, false))
	a, b := r.Board("1050000001"), r.Board("1050000002")
	a.Step("apply: 16842753 root_ca_cert")
	for done := 64; done <= 2048; done += 64 {
		a.Transfer("%CMNG sent", done, 2048)
		b.Transfer("%CMNG sent", done/2, 2048)
	}
	a.Done()
	b.Done()
	r.Close()
	tty.Close()
	out := string(<-got)
	for _, want := range []string{"1050000001", "1050000002", "%CMNG sent", "2.0 KiB", "100 %", "apply: 16842753 root_ca_cert"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal shows no %q:\n%q", want, out)
		}
	}
}

// TestBoardsRaceClose: boards reporting from their goroutines while the renderer closes neither
// panic (mpb refuses bars after its Wait) nor hang.
func TestBoardsRaceClose(t *testing.T) {
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	defer tty.Close()
	go func() { _, _ = io.Copy(io.Discard, ptm) }()
	r := New(tty, Bars)
	done := make(chan struct{})
	for i := range 8 {
		b := r.Board(fmt.Sprintf("board%d", i))
		go func() {
			defer func() { done <- struct{}{} }()
			for n := 0; n <= 4096; n += 64 {
				b.Transfer("%CMNG sent", n, 4096)
				b.Step("step %d", n)
			}
			b.Done()
		}()
	}
	r.Close()
	for range 8 {
		<-done
	}
	r.Close() // twice is fine
}
