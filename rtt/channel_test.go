package rtt_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/rtt"
	"github.com/nrfprov/nrfprov/rtt/rtttest"
)

func attach(t testing.TB, tg *rtttest.Target) *rtt.ControlBlock {
	t.Helper()
	cb, err := rtt.Attach(context.Background(), tg.Mem, rtt.Config{Location: rtt.At(tg.Addr())})
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + (i+seed)%26)
	}
	return b
}

func TestUpRead(t *testing.T) {
	const size = 16
	tests := []struct {
		name      string
		start     uint32 // RdOff = WrOff before the target writes
		emit      int    // bytes the target writes
		buf       int    // host buffer
		want      int
		dataReads int
	}{
		{name: "empty", start: 5, emit: 0, buf: 32, want: 0, dataReads: 0},
		{name: "contiguous", start: 0, emit: 10, buf: 32, want: 10, dataReads: 1},
		{name: "ends exactly at the end", start: 6, emit: 10, buf: 32, want: 10, dataReads: 1},
		{name: "wraps", start: 12, emit: 10, buf: 32, want: 10, dataReads: 2},
		{name: "full, wrapped", start: 9, emit: 15, buf: 32, want: 15, dataReads: 2},
		{name: "full from 0", start: 0, emit: 15, buf: 32, want: 15, dataReads: 1},
		{name: "small host buffer stops before the wrap", start: 12, emit: 10, buf: 3, want: 3, dataReads: 1},
		{name: "small host buffer across the wrap", start: 12, emit: 10, buf: 6, want: 6, dataReads: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tg := rtttest.New(rtttest.WithUp(rtttest.Channel{Name: "Terminal", Size: size}))
			tg.SetField(rtt.Up, 0, rtt.OffRdOff, tt.start)
			tg.SetField(rtt.Up, 0, rtt.OffWrOff, tt.start)
			data := pattern(tt.emit, 0)
			if n := tg.Emit(0, data); n != tt.emit {
				t.Fatalf("target emitted %d of %d", n, tt.emit)
			}
			up, err := attach(t, tg).Up(rtt.Named("Terminal"))
			if err != nil {
				t.Fatal(err)
			}
			tg.Mem.Record()
			p := make([]byte, tt.buf)
			n, err := up.Read(ctx, p)
			if err != nil || n != tt.want {
				t.Fatalf("Read = %d, %v; want %d", n, err, tt.want)
			}
			if !bytes.Equal(p[:n], data[:n]) {
				t.Errorf("Read %q; want %q", p[:n], data[:n])
			}
			if rd, wantRd := tg.Field(rtt.Up, 0, rtt.OffRdOff), (tt.start+uint32(n))%size; rd != wantRd {
				t.Errorf("RdOff = %d; want %d", rd, wantRd)
			}
			if wr, wantWr := tg.Field(rtt.Up, 0, rtt.OffWrOff), (tt.start+uint32(tt.emit))%size; wr != wantWr {
				t.Errorf("WrOff = %d; want %d (the host must not touch it)", wr, wantWr)
			}
			// Protocol: one descriptor read (WrOff and RdOff together), the
			// data reads, then exactly one write: RdOff, 4 bytes.
			log := tg.Mem.Log()
			desc := tg.Desc(rtt.Up, 0)
			if len(log) == 0 || log[0].Write || log[0].Addr > desc+rtt.OffWrOff || log[0].Addr+uint32(log[0].Len) < desc+rtt.OffRdOff+4 {
				t.Fatalf("first access %v; want one read covering WrOff and RdOff at 0x%08x", log, desc+rtt.OffWrOff)
			}
			wantLen := 1 + tt.dataReads
			if n > 0 {
				wantLen++
				last := log[len(log)-1]
				if !last.Write || last.Addr != desc+rtt.OffRdOff || last.Len != 4 {
					t.Errorf("last access %v; want the RdOff write", last)
				}
			}
			if len(log) != wantLen {
				t.Errorf("accesses %v; want %d", log, wantLen)
			}
			for _, a := range log[1 : 1+tt.dataReads] {
				if a.Write {
					t.Errorf("data access %v is a write", a)
				}
			}
		})
	}
}

func TestUpReadStream(t *testing.T) {
	// The target writes bursts of varied length, the host reads with varied
	// buffers: everything arrives once, in order, across many wraps.
	ctx := context.Background()
	tg := rtttest.New(rtttest.WithUp(rtttest.Channel{Name: "Terminal", Size: 64}))
	up, err := attach(t, tg).Up(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	want := pattern(5000, 3)
	var got []byte
	sent := 0
	for len(got) < len(want) {
		if sent < len(want) {
			sent += tg.Emit(0, want[sent:min(len(want), sent+r.IntN(70))])
		}
		p := make([]byte, 1+r.IntN(80))
		n, err := up.Read(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stream differs")
	}
}

func TestDownWrite(t *testing.T) {
	const size = 16
	tests := []struct {
		name       string
		wr, rd     uint32
		len        int
		want       int
		dataWrites int
	}{
		{name: "empty buffer takes 15 of 20 (one byte stays empty)", wr: 0, rd: 0, len: 20, want: 15, dataWrites: 1},
		{name: "empty buffer mid-way wraps", wr: 10, rd: 10, len: 15, want: 15, dataWrites: 2},
		{name: "fits before the end", wr: 10, rd: 10, len: 6, want: 6, dataWrites: 1},
		{name: "one past the end wraps", wr: 10, rd: 10, len: 7, want: 7, dataWrites: 2},
		{name: "RdOff 0: stop one short of the end", wr: 5, rd: 0, len: 20, want: 10, dataWrites: 1},
		{name: "wr after rd, wraps up to rd-1", wr: 10, rd: 3, len: 20, want: 8, dataWrites: 2},
		{name: "wr before rd", wr: 3, rd: 10, len: 20, want: 6, dataWrites: 1},
		{name: "full (wr = rd-1)", wr: 9, rd: 10, len: 5, want: 0, dataWrites: 0},
		{name: "full across the end (wr = 15, rd = 0)", wr: 15, rd: 0, len: 5, want: 0, dataWrites: 0},
		{name: "short write", wr: 0, rd: 0, len: 3, want: 3, dataWrites: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tg := rtttest.New(rtttest.WithDown(rtttest.Channel{Name: "Terminal", Size: size}))
			tg.SetField(rtt.Down, 0, rtt.OffWrOff, tt.wr)
			tg.SetField(rtt.Down, 0, rtt.OffRdOff, tt.rd)
			down, err := attach(t, tg).Down(rtt.Named("Terminal"))
			if err != nil {
				t.Fatal(err)
			}
			free, err := down.Free(ctx)
			if err != nil || free != tt.want && tt.len >= free {
				t.Fatalf("Free = %d, %v", free, err)
			}
			// Pending bytes between rd and wr, as the target would see them.
			pending := (tt.wr - tt.rd + size) % size
			tg.Mem.Record()
			data := pattern(tt.len, 7)
			n, err := down.Write(ctx, data)
			if err != nil || n != tt.want {
				t.Fatalf("Write = %d, %v; want %d", n, err, tt.want)
			}
			if wr, want := tg.Field(rtt.Down, 0, rtt.OffWrOff), (tt.wr+uint32(n))%size; wr != want {
				t.Errorf("WrOff = %d; want %d", wr, want)
			}
			if rd := tg.Field(rtt.Down, 0, rtt.OffRdOff); rd != tt.rd {
				t.Errorf("RdOff = %d; want %d (the host must not touch it)", rd, tt.rd)
			}
			// The one-byte gap: WrOff never catches up with RdOff.
			if n > 0 && tg.Field(rtt.Down, 0, rtt.OffWrOff) == tt.rd {
				t.Errorf("WrOff caught up with RdOff: the buffer reads as empty")
			}
			got := tg.Drain(0, 100)
			if !bytes.Equal(got[pending:], data[:n]) {
				t.Errorf("target read %q after %d pending; want %q", got[pending:], pending, data[:n])
			}
			// Protocol: descriptor read, data writes, WrOff written last.
			log := tg.Mem.Log()
			desc := tg.Desc(rtt.Down, 0)
			wantLen := 1
			if n > 0 {
				wantLen += tt.dataWrites + 1
				last := log[len(log)-1]
				if !last.Write || last.Addr != desc+rtt.OffWrOff || last.Len != 4 {
					t.Errorf("last access %v; want the WrOff write", last)
				}
				for _, a := range log[1 : 1+tt.dataWrites] {
					if !a.Write || a.Addr < tg.Field(rtt.Down, 0, rtt.OffBuf) || a.Addr+uint32(a.Len) > tg.Field(rtt.Down, 0, rtt.OffBuf)+size {
						t.Errorf("data access %v is not a write inside the buffer", a)
					}
				}
			}
			if len(log) != wantLen || log[0].Write {
				t.Errorf("accesses %v; want %d starting with the descriptor read", log, wantLen)
			}
		})
	}
}

// TestWriterStepped drives the target from the memory itself: every
// descriptor read the Writer makes (one per poll) is a chance for the target
// to have drained up to 16 bytes. Deterministic, no clocks involved in the
// outcome.
func TestWriterStepped(t *testing.T) {
	for _, every := range []int{1, 3} {
		tg := rtttest.New() // Zephyr default: 16-byte down buffer
		cb := attach(t, tg)
		down, err := cb.Down(rtt.Index(0))
		if err != nil {
			t.Fatal(err)
		}
		desc := tg.Desc(rtt.Down, 0)
		var got []byte
		var chunks []int // bytes each target poll found
		var reads int
		tg.Mem.OnAccess = func(a rtttest.Access) {
			if !a.Write && a.Addr == desc {
				reads++
				if reads%every == 0 {
					b := tg.Drain(0, 16)
					if len(b) > 0 {
						chunks = append(chunks, len(b))
					}
					got = append(got, b...)
				}
			}
		}
		data := pattern(1000, 1)
		w := &rtt.Writer{Ch: down, Poll: time.Microsecond}
		n, err := w.Write(context.Background(), data)
		if err != nil || n != len(data) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if b := tg.Drain(0, 16); len(b) > 0 {
			chunks = append(chunks, len(b))
			got = append(got, b...)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("every %d: target got %d bytes, differing", every, len(got))
		}
		// Whenever the target polls and finds data, it finds a full buffer:
		// the writer filled exactly the 15 bytes of free space each time.
		for i, c := range chunks[:len(chunks)-1] {
			if c != 15 {
				t.Fatalf("every %d: target poll %d found %d bytes; want 15 (chunks %v)", every, i, c, chunks)
			}
		}
		if len(chunks) != (1000+14)/15 {
			t.Errorf("every %d: %d target polls with data for 1000 bytes; want %d", every, len(chunks), (1000+14)/15)
		}
	}
}

// TestWriterThroughZephyrPoll runs the target as a goroutine that drains 16
// bytes per poll, as Zephyr's shell RTT backend does (here every 2 ms rather
// than 10 to keep the test short).
func TestWriterThroughZephyrPoll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tg := rtttest.New()
	down, err := attach(t, tg).Down(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	dctx, stop := context.WithCancel(ctx)
	dr := tg.StartDrain(dctx, 0, 2*time.Millisecond, 16)
	data := make([]byte, 1500)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	start := time.Now()
	n, err := (&rtt.Writer{Ch: down}).Write(ctx, data)
	if err != nil || n != len(data) {
		stop()
		t.Fatalf("Write = %d, %v", n, err)
	}
	got, err := dr.WaitFor(ctx, len(data))
	elapsed := time.Since(start)
	stop()
	_, polls := dr.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("target got %d bytes, differing from the %d written", len(got), len(data))
	}
	// Timing is not asserted here (a loaded CI machine stretches it);
	// BenchmarkDownWriteThroughput measures it against the floor.
	t.Logf("1500 bytes in %v over %d target polls (floor: 100 polls)", elapsed, polls)
}

func TestWriterDeadline(t *testing.T) {
	tg := rtttest.New()
	down, err := attach(t, tg).Down(rtt.Index(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var polls atomic.Int32
	desc := tg.Desc(rtt.Down, 0)
	tg.Mem.OnAccess = func(a rtttest.Access) {
		// Nobody drains; give up after the third poll that finds no room.
		if !a.Write && a.Addr == desc && polls.Add(1) == 4 {
			cancel()
		}
	}
	n, err := (&rtt.Writer{Ch: down, Poll: time.Microsecond}).Write(ctx, pattern(100, 0))
	if n != 15 || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "15 of 100") {
		t.Fatalf("Write = %d, %v; want 15 and context.Canceled", n, err)
	}
}

func TestAccessErrorsAreWrapped(t *testing.T) {
	tg := rtttest.New()
	tg.Emit(0, []byte("hi"))
	cb := attach(t, tg)
	up, _ := cb.Up(rtt.Index(0))
	down, _ := cb.Down(rtt.Index(0))
	boom := errors.New("probe unplugged")
	tg.Mem.Fail = func(a rtttest.Access) error {
		if a.Write {
			return boom
		}
		return nil
	}
	if n, err := up.Read(context.Background(), make([]byte, 8)); n != 0 || !errors.Is(err, boom) || !strings.Contains(err.Error(), "RdOff") {
		t.Errorf("Read with a failing RdOff write = %d, %v", n, err)
	}
	if rd := tg.Field(rtt.Up, 0, rtt.OffRdOff); rd != 0 {
		t.Errorf("RdOff = %d after a failed release", rd)
	}
	if n, err := down.Write(context.Background(), []byte("AT")); n != 0 || !errors.Is(err, boom) {
		t.Errorf("Write with failing writes = %d, %v", n, err)
	}
	if wr := tg.Field(rtt.Down, 0, rtt.OffWrOff); wr != 0 {
		t.Errorf("WrOff = %d after a failed data write", wr)
	}
}

func TestRelocate(t *testing.T) {
	ctx := context.Background()
	tg := rtttest.New()
	cb, err := rtt.Attach(ctx, tg.Mem, rtt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	down, err := cb.Down(rtt.Named("Terminal"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := down.Write(ctx, []byte("AT\r")); n != 3 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := tg.Drain(0, 16); string(got) != "AT\r" {
		t.Fatalf("target got %q", got)
	}

	// A new image is flashed: the block moves and the old one is overwritten.
	tg.Move(0x20010000, true)
	if _, err := down.Write(ctx, []byte("AT\r")); !errors.Is(err, rtt.ErrControlBlockCorrupted) {
		t.Fatalf("Write after the move: %v; want ErrControlBlockCorrupted", err)
	}
	if err := cb.Relocate(ctx); err != nil {
		t.Fatal(err)
	}
	if cb.Addr() != 0x20010000 {
		t.Fatalf("Addr = 0x%08x after Relocate", cb.Addr())
	}
	if n, err := down.Write(ctx, []byte("AT+CFUN?\r")); n != 9 || err != nil {
		t.Fatalf("Write after Relocate = %d, %v", n, err)
	}
	if got := tg.Drain(0, 16); string(got) != "AT+CFUN?\r" {
		t.Fatalf("target got %q", got)
	}

	// Flashed again, the old block left intact in uncleared RAM: a scan
	// finds two and says so, keeping the working block; the new address
	// settles it.
	tg.Move(0x20020000, false)
	if err := cb.Relocate(ctx); !errors.Is(err, rtt.ErrMultipleControlBlocks) {
		t.Fatalf("Relocate with a stale block: %v", err)
	}
	if cb.Addr() != 0x20010000 {
		t.Errorf("a failed Relocate changed Addr to 0x%08x", cb.Addr())
	}
	if err := cb.RelocateTo(ctx, rtt.At(0x20020000)); err != nil {
		t.Fatal(err)
	}
	if n, err := down.Write(ctx, []byte("OK")); n != 2 || err != nil {
		t.Fatalf("Write after RelocateTo = %d, %v", n, err)
	}
	if got := tg.Drain(0, 16); string(got) != "OK" {
		t.Fatalf("target got %q", got)
	}
	if err := cb.Relocate(ctx); err != nil || cb.Addr() != 0x20020000 {
		t.Errorf("Relocate keeps the exact location: 0x%08x, %v", cb.Addr(), err)
	}
}

func TestRelocateFewerChannels(t *testing.T) {
	ctx := context.Background()
	tg := rtttest.New(rtttest.WithDown(rtttest.Channel{Name: "Terminal", Size: 16}, rtttest.Channel{Name: "AT", Size: 32}), rtttest.WithMax(3, 2))
	cb := attach(t, tg)
	at, err := cb.Down(rtt.Named("AT"))
	if err != nil || at.Info().Index != 1 {
		t.Fatalf("Down(AT) = %v, %v", at, err)
	}
	// The new image has one down channel only.
	tg2 := rtttest.New(rtttest.WithMax(3, 1), rtttest.WithAddr(0x20000000))
	tg.Mem.Poke(0x20000000, tg2.Mem.Peek(0x20000000, 24+4*24))
	if err := cb.Relocate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := at.Write(ctx, []byte("x")); !errors.Is(err, rtt.ErrNoChannel) {
		t.Errorf("Write on a channel gone after Relocate: %v; want ErrNoChannel", err)
	}
}

func TestSelect(t *testing.T) {
	tg := rtttest.New(
		rtttest.WithUp(rtttest.Channel{Name: "Terminal", Size: 1024}, rtttest.Channel{Name: "Log", Size: 256}, rtttest.Channel{Name: "Log", Size: 64}),
		rtttest.WithDown(rtttest.Channel{Name: "Terminal", Size: 16}),
	)
	cb := attach(t, tg)
	tests := []struct {
		dir     rtt.Direction
		sel     rtt.Selector
		want    int
		wantErr string
	}{
		{dir: rtt.Up, sel: rtt.Index(0), want: 0},
		{dir: rtt.Up, sel: rtt.Named("Terminal"), want: 0},
		{dir: rtt.Up, sel: rtt.ParseSelector("2"), want: 2},
		{dir: rtt.Down, sel: rtt.ParseSelector("Terminal"), want: 0},
		{dir: rtt.Up, sel: rtt.Named("Log"), wantErr: `2 up channels named "Log" (indexes [1 2])`},
		{dir: rtt.Up, sel: rtt.Index(3), wantErr: "up channel 3 (the target has 3)"},
		{dir: rtt.Up, sel: rtt.Index(-1), wantErr: "up channel -1"},
		{dir: rtt.Down, sel: rtt.Index(1), wantErr: "down channel 1 is not configured"},
		{dir: rtt.Down, sel: rtt.Named("Shell"), wantErr: `no down channel named "Shell" (there are: 0 "Terminal")`},
	}
	for _, tt := range tests {
		t.Run(tt.dir.String()+" "+tt.sel.String(), func(t *testing.T) {
			var info rtt.ChannelInfo
			var err error
			if tt.dir == rtt.Up {
				var c *rtt.UpChannel
				if c, err = cb.Up(tt.sel); err == nil {
					info = c.Info()
				}
			} else {
				var c *rtt.DownChannel
				if c, err = cb.Down(tt.sel); err == nil {
					info = c.Info()
				}
			}
			if tt.wantErr != "" {
				if !errors.Is(err, rtt.ErrNoChannel) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want ErrNoChannel mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || info.Index != tt.want || info.Dir != tt.dir {
				t.Fatalf("got %v, %v; want %s %d", info, err, tt.dir, tt.want)
			}
		})
	}
}
