package sim

import (
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// byteTime is how long one byte takes on an 8N1 UART: 10 bits.
func byteTime(baud int) time.Duration {
	return time.Duration(10 * float64(time.Second) / float64(baud))
}

// vcom is one USB CDC port of the board's debugger, modelled as a pseudo-terminal: the model
// holds the master, the host opens the slave by a stable path (a symlink, like
// /dev/serial/by-id/...) that survives unplug and replug.
type vcom struct {
	master io.ReadWriteCloser // the PTY master, or a socket (sockLine) with BoardConfig.Listen
	slave  *os.File           // held open so the master never sees a hangup while no host has the port
	link   string
}

// openSocketPort is the port in socket mode: no PTY and no link, a listening socket.
func openSocketPort(spec string) (*vcom, error) {
	s, err := listenLine(spec)
	if err != nil {
		return nil, err
	}
	return &vcom{master: s}, nil
}

// ptyPath is the pseudo-terminal the link points at now.
func (v *vcom) ptyPath() string {
	if v.slave == nil {
		return ""
	}
	return v.slave.Name()
}

// close unplugs the port: the host's open handle sees a hangup, the path disappears.
func (v *vcom) close() {
	if v.link != "" {
		os.Remove(v.link)
	}
	v.master.Close()
	if v.slave != nil {
		v.slave.Close()
	}
}

// outChunk is output queued for the UART.
type outChunk struct {
	data []byte
	gen  uint64
	// done is called (from the writer goroutine, which waits for it) as the last bytes go out,
	// with the time the last byte is scheduled to start on the wire.
	done func(end time.Time)
}

// pacedWriter is the board's UART transmitter: one goroutine writes queued output to the
// port, one byte every byteTime, each byte handed over when its start bit goes on the wire. A flush (a reset) discards what is queued and stops the chunk in progress.
type pacedWriter struct {
	bt time.Duration

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []outChunk
	gen    uint64
	port   io.Writer
	filter func([]byte) []byte // output faults; may be nil
	closed bool
	next   time.Time // when the line is free again
	sent   uint64
}

func newPacedWriter(bt time.Duration) *pacedWriter {
	w := &pacedWriter{bt: bt}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *pacedWriter) enqueue(c outChunk) {
	w.mu.Lock()
	if c.gen == w.gen && !w.closed {
		w.queue = append(w.queue, c)
		w.cond.Signal()
	}
	w.mu.Unlock()
}

// flush drops queued output and starts a new generation; chunks of older ones are ignored.
func (w *pacedWriter) flush(gen uint64) {
	w.mu.Lock()
	w.gen = gen
	w.queue = nil
	w.mu.Unlock()
}

func (w *pacedWriter) setPort(p io.Writer) {
	w.mu.Lock()
	w.port = p
	w.mu.Unlock()
}

func (w *pacedWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (w *pacedWriter) run() {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.cond.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		c := w.queue[0]
		w.queue = w.queue[1:]
		w.mu.Unlock()
		w.write(c)
	}
}

// write sends one chunk at the line rate. A chunk's done callback runs just before its last
// bytes go out, and write waits for it: the device re-enables its receiver as it sends the
// final byte, so a host that answers the instant it sees that byte is never early.
func (w *pacedWriter) write(c outChunk) bool {
	start := time.Now()
	w.mu.Lock()
	if w.next.After(start) {
		start = w.next
	}
	w.mu.Unlock()
	sent := 0
	for sent < len(c.data) {
		// Byte k starts at start + k byte times; it is handed over as it starts, so a byte
		// written to an idle line goes out at once, and a burst keeps the line rate.
		due := int(time.Since(start)/w.bt) + 1
		if due > len(c.data) {
			due = len(c.data)
		}
		if due > sent {
			w.mu.Lock()
			if w.gen != c.gen || w.closed {
				w.mu.Unlock()
				return false
			}
			port, filter := w.port, w.filter
			w.sent += uint64(due - sent)
			w.mu.Unlock()
			if due == len(c.data) && c.done != nil {
				c.done(start.Add(time.Duration(len(c.data)-1) * w.bt))
			}
			out := c.data[sent:due]
			if filter != nil {
				out = filter(append([]byte(nil), out...))
			}
			if port != nil && len(out) > 0 {
				// A failed write means the port was unplugged: the bytes are lost on the wire.
				_, _ = port.Write(out)
			}
			sent = due
			continue
		}
		time.Sleep(time.Until(start.Add(time.Duration(sent) * w.bt)))
	}
	w.mu.Lock()
	w.next = start.Add(time.Duration(len(c.data)) * w.bt)
	w.mu.Unlock()
	return true
}

// byteFault drops or corrupts bytes of one direction of the link.
type byteFault struct {
	corrupt bool
	prob    float64
	skip    int
	left    int // bytes still to affect; -1 = no limit
	rng     *rand.Rand
	hits    int
}

func newByteFault(f Fault) (*byteFault, error) {
	if f.Probability < 0 || f.Probability > 1 {
		return nil, fmt.Errorf("sim: fault %s: probability %v not in 0..1", f.Kind, f.Probability)
	}
	prob := f.Probability
	if prob == 0 {
		prob = 1
	}
	left := f.Count
	if left == 0 {
		left = -1
	}
	return &byteFault{corrupt: f.Kind == "corrupt", prob: prob, skip: f.Skip, left: left, rng: rand.New(rand.NewSource(f.Seed))}, nil
}

// apply passes p through the fault and returns what is left of it.
func (f *byteFault) apply(p []byte) []byte {
	out := p[:0]
	for _, c := range p {
		switch {
		case f.skip > 0:
			f.skip--
		case f.left != 0 && f.rng.Float64() < f.prob:
			if f.left > 0 {
				f.left--
			}
			f.hits++
			if !f.corrupt {
				continue
			}
			c ^= 1 << uint(f.rng.Intn(8))
		}
		out = append(out, c)
	}
	return out
}

func (f *byteFault) exhausted() bool { return f.left == 0 }

var errUnplugged = errors.New("sim: board is unplugged")

func linkPath(runDir, serial string) string {
	return filepath.Join(runDir, serial+"-vcom0")
}
