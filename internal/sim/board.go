package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// BoardConfig describes one virtual board. Zero values take the defaults documented per field.
type BoardConfig struct {
	// SerialNumber is the J-Link serial number, e.g. "000960000001" (default).
	SerialNumber string
	// Profile names the modem firmware profile (default DefaultProfile).
	Profile string
	// Personality is the application firmware at first start (default at_client). A state file
	// that remembers a later flash wins.
	Personality Personality
	// Baud is the UART rate (default 115200, 8N1).
	Baud int
	// FlowControl models RTS/CTS: bytes sent while the AT host is busy are held by the sender
	// instead of being lost.
	FlowControl bool
	// StateDir keeps the modem NVM (credentials, identity key, flashed firmware) in
	// StateDir/<serial>.json across resets and process restarts. Empty keeps it in memory.
	StateDir string
	// RunDir holds the VCOM0 link and the control socket (required).
	RunDir string
	// Termination is the AT host's line terminator; TermSet says it was chosen explicitly
	// (otherwise each personality uses its own default: CR for at_client, CRLF for SLM).
	Termination Termination
	TermSet     bool
	// LineLimit is the line buffer: at_client stores at most 4095 characters
	// (CONFIG_AT_HOST_CMD_MAX_LEN 4096), Modem Shell 3583 (CONFIG_SHELL_CMD_BUFF_SIZE 3584),
	// SLM 4096. Zero takes the personality's value.
	LineLimit int
	// ResponseLimit is the AT host's response buffer; longer responses are cut and lose their
	// final result code. Zero takes the profile's value, else the line buffer's.
	ResponseLimit int
	// BusyFIFO is how many bytes received while a command executes survive in the UARTE FIFO
	// (default 5; set NoBusyFIFO for none).
	BusyFIFO   int
	NoBusyFIFO bool
	// ReadyDelay is the time from the boot banner to "Ready" (default 200 ms).
	ReadyDelay time.Duration
	// FirstCommandError leaves a junk byte from power-on in the AT host's buffer, so the first
	// command after power-on answers ERROR (seen by Cellular Monitor; §2.6).
	FirstCommandError bool
	// CommandLatency is the modem's time to answer any command (default 2 ms); WriteLatency is
	// added per credential write or delete (default 50 ms); KeygenLatency per %KEYGEN (300 ms).
	CommandLatency time.Duration
	WriteLatency   time.Duration
	KeygenLatency  time.Duration
	// RTT gives the board simulated target RAM (ReadMemory, WriteMemory, the GDB server). When
	// it runs Modem Shell, the shell's transport is then SEGGER RTT instead of the UART: a
	// control block in RAM, down channel 0 polled every RTTPoll (default 10 ms,
	// CONFIG_SHELL_RTT_RX_POLL_PERIOD), output into up channel 0. Other personalities keep the UART.
	RTT     bool
	RTTPoll time.Duration
	// RTTDownSize is the down buffer's size (CONFIG_SEGGER_RTT_BUFFER_SIZE_DOWN): default 32,
	// Zephyr's default when the shell's RTT backend is on (16 without it).
	RTTDownSize int
	// MemoryNeedsHalt makes the GDB server refuse memory access while the core runs (as QEMU's
	// stub may); J-Link reads a running core, which is the default.
	MemoryNeedsHalt bool
	// Listen makes the board's UART a socket instead of a pseudo-terminal: "tcp:HOST:PORT"
	// (port 0 picks a free one) or "unix:PATH". The board listens and takes one peer at a time
	// (QEMU's -serial tcp:HOST:PORT, say, bridging an emulated MCU's UART to the modem); there
	// is no VCOM0 link then. Pacing and the receive model are those of the PTY.
	Listen string
	// ListenHold keeps what the board sends while no peer is connected to its Listen socket
	// (the newest 4 KiB) and gives it to the next peer first, as a pseudo-terminal keeps it for
	// its next reader: a host that reconnects after a reset still sees the banner and "Ready".
	// Without it those bytes are lost, as on an unconnected UART.
	ListenHold bool
	// Log receives the board's diagnostics (never credential contents). Nil discards them.
	Log *logrus.Entry
}

func (c *BoardConfig) applyDefaults() error {
	if c.SerialNumber == "" {
		c.SerialNumber = "000960000001"
	}
	if strings.ContainsAny(c.SerialNumber, "/\\ \t\n") {
		return fmt.Errorf("sim: serial number %q: must not contain separators or spaces", c.SerialNumber)
	}
	if c.Profile == "" {
		c.Profile = DefaultProfile
	}
	if c.Personality == "" {
		c.Personality = ATClient
	}
	if _, err := ParsePersonality(string(c.Personality)); err != nil {
		return err
	}
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.Baud < 300 || c.Baud > 4000000 {
		return fmt.Errorf("sim: baud %d out of range 300..4000000", c.Baud)
	}
	if c.RunDir == "" {
		return errors.New("sim: RunDir is required")
	}
	if c.LineLimit < 0 || c.ResponseLimit < 0 || c.BusyFIFO < 0 {
		return errors.New("sim: limits must not be negative")
	}
	if c.BusyFIFO == 0 && !c.NoBusyFIFO {
		c.BusyFIFO = 5
	}
	if c.NoBusyFIFO {
		c.BusyFIFO = 0
	}
	if c.ReadyDelay == 0 {
		c.ReadyDelay = 200 * time.Millisecond
	}
	if c.CommandLatency == 0 {
		c.CommandLatency = 2 * time.Millisecond
	}
	if c.WriteLatency == 0 {
		c.WriteLatency = 50 * time.Millisecond
	}
	if c.KeygenLatency == 0 {
		c.KeygenLatency = 300 * time.Millisecond
	}
	if c.RTTPoll < 0 {
		return errors.New("sim: RTT poll period must not be negative")
	}
	if c.RTTDownSize == 0 {
		c.RTTDownSize = 32
	}
	if c.RTTDownSize < 2 || c.RTTDownSize > 4096 {
		return fmt.Errorf("sim: RTT down buffer size %d: want 2..4096 bytes", c.RTTDownSize)
	}
	if c.RTTPoll == 0 {
		c.RTTPoll = 10 * time.Millisecond
	}
	if c.Listen != "" {
		if _, _, err := ParseListen(c.Listen); err != nil {
			return err
		}
	} else if c.ListenHold {
		return errors.New("sim: ListenHold needs Listen (a pseudo-terminal keeps unread output anyway)")
	}
	if c.Log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		c.Log = logrus.NewEntry(l)
	}
	return nil
}

func lineLimitFor(p Personality, set int) int {
	if set > 0 {
		return set
	}
	switch p {
	case ModemShell:
		return 3584
	case SerialLTEModem:
		return 4096
	}
	return 4095
}

// inByte is one received byte and the moment its stop bit arrived.
type inByte struct {
	c  byte
	at time.Time
}

// Board is one running virtual nRF91 board. A single goroutine (the loop) owns all of its
// device state; the UART reader, the paced writer, timers and control requests talk to it by
// posting closures.
type Board struct {
	cfg  BoardConfig
	prof Profile
	log  *logrus.Entry
	bt   time.Duration

	post      chan func()
	quit      chan struct{}
	wg        sync.WaitGroup
	w         *pacedWriter
	closeOnce sync.Once

	// Everything below is owned by the loop goroutine.
	nvm        *nvm
	modem      *modem
	fw         firmware
	port       *vcom
	powered    bool
	gen        uint64
	ready      bool
	booted     chan struct{} // closed when the boot output (and Ready) has been written
	busy       bool
	hung       bool
	queue      []inByte
	fifo       []byte
	last       time.Time // arrival of the last received byte
	wake       *time.Timer
	outEnd     time.Time // when the last answer's final byte went out
	stats      Stats
	faults     faultState
	ram        []byte // target RAM at RAMBase, only with cfg.RTT
	rttAddr    uint32 // the control block of the current image
	rttPrev    uint32
	rttUp      []upChunk // shell output waiting for up-buffer space
	rttUpSince time.Time // when the up buffer last took output
	flashes    uint64
	halted     bool
}

// Stats counts what happened on the link.
type Stats struct {
	RxBytes       uint64 `json:"rx_bytes"`
	TxBytes       uint64 `json:"tx_bytes"`
	Commands      uint64 `json:"commands"`
	DroppedBusy   uint64 `json:"dropped_busy"`
	DroppedFault  uint64 `json:"dropped_or_corrupted_by_fault"`
	Boots         uint64 `json:"boots"`
	HungCommands  uint64 `json:"hung_commands"`
	OverflowBytes uint64 `json:"overflow_bytes"`
	// CommandsBeforeReady counts lines at_client received before "Ready": the modem library was
	// not initialised, so each came back as its own text with no result code (§2.5). This is
	// the board answering, not the port echoing: the pseudo-terminal never echoes.
	CommandsBeforeReady uint64 `json:"commands_before_ready,omitempty"`
	GarbledBytes        uint64 `json:"garbled_by_line_speed,omitempty"`
	RTTDownBytes        uint64 `json:"rtt_down_bytes,omitempty"`
	RTTUpBytes          uint64 `json:"rtt_up_bytes,omitempty"`
	RTTUpDropped        uint64 `json:"rtt_up_dropped,omitempty"`
}

// StartBoard powers a board on: it opens its VCOM0 pseudo-terminal, starts the firmware, and
// prints the boot banner. The control endpoint is separate (ServeControl).
func StartBoard(ctx context.Context, cfg BoardConfig) (*Board, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	prof, err := LookupProfile(cfg.Profile)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RunDir, 0o700); err != nil {
		return nil, fmt.Errorf("sim: run dir: %w", err)
	}
	statePath := ""
	if cfg.StateDir != "" {
		statePath = filepath.Join(cfg.StateDir, cfg.SerialNumber+".json")
	}
	n, err := openNVM(statePath, FirmwareImage{Personality: cfg.Personality})
	if err != nil {
		return nil, err
	}
	if n.modemRevision != "" {
		// The modem firmware programmed earlier (modemfw.go) outlives the process.
		if prof, err = profileForRevision(n.modemRevision); err != nil {
			return nil, err
		}
	}
	b := &Board{
		cfg:  cfg,
		prof: prof,
		log:  cfg.Log.WithField("board", cfg.SerialNumber),
		bt:   byteTime(cfg.Baud),
		post: make(chan func(), 64),
		quit: make(chan struct{}),
		nvm:  n,
	}
	if cfg.RTT {
		b.ram = make([]byte, RAMSize)
	}
	b.modem = &modem{
		prof:    prof,
		nvm:     n,
		rnd:     rand.Reader,
		imei:    imeiFor(cfg.SerialNumber),
		devUUID: deviceUUIDFor(cfg.SerialNumber),
		timing:  modemTiming{command: cfg.CommandLatency, write: cfg.WriteLatency, keygen: cfg.KeygenLatency},
	}
	b.faults.hangAfter = -1
	b.faults.stats = &b.stats
	b.w = newPacedWriter(b.bt)
	b.w.filter = b.outputFilter
	port, err := b.openPort()
	if err != nil {
		return nil, err
	}
	if s, ok := port.master.(*sockLine); ok {
		// Replugging listens again at the address bound now (a port 0 stays the same).
		b.cfg.Listen = s.addr
	}
	b.wg.Add(2)
	go b.loop()
	go func() { defer b.wg.Done(); b.w.run() }()
	if err := b.call(ctx, func() error { b.plugIn(port); return nil }); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// loop runs posted closures until the board closes.
func (b *Board) loop() {
	defer b.wg.Done()
	for {
		select {
		case f := <-b.post:
			f()
		case <-b.quit:
			return
		}
	}
}

// send posts f to the loop; it gives up when the board is closed.
func (b *Board) send(f func()) bool {
	select {
	case b.post <- f:
		return true
	case <-b.quit:
		return false
	}
}

// call runs f on the loop and waits for it.
func (b *Board) call(ctx context.Context, f func() error) error {
	errc := make(chan error, 1)
	if !b.send(func() { errc <- f() }) {
		return errors.New("sim: board is closed")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return errors.New("sim: board is closed")
	}
}

// SerialNumber is the board's J-Link serial number.
func (b *Board) SerialNumber() string { return b.cfg.SerialNumber }

// openPort opens the UART's host side: a pseudo-terminal behind the VCOM0 link, or the socket.
func (b *Board) openPort() (*vcom, error) {
	if b.cfg.Listen != "" {
		return openSocketPort(b.cfg.Listen, b.cfg.ListenHold)
	}
	return openVCOM(b.VCOM0())
}

// SerialSocket is where the board's UART listens ("tcp:127.0.0.1:PORT"), when configured with
// Listen; empty otherwise.
func (b *Board) SerialSocket() string { return b.cfg.Listen }

// VCOM0 is the stable path of the board's UART0 port (a symlink to the current pseudo-terminal);
// empty when the UART is a socket (Listen).
func (b *Board) VCOM0() string {
	if b.cfg.Listen != "" {
		return ""
	}
	return linkPath(b.cfg.RunDir, b.cfg.SerialNumber)
}

// Config returns the board's configuration with defaults applied.
func (b *Board) Config() BoardConfig { return b.cfg }

// WaitReady waits until the firmware finished booting and its boot output ("Ready", the MoSh
// prompt, an application's banner) has been written to the port.
func (b *Board) WaitReady(ctx context.Context) error {
	var ch chan struct{}
	if err := b.call(ctx, func() error {
		if !b.powered {
			return errUnplugged
		}
		ch = b.booted
		return nil
	}); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sim: waiting for boot: %w", ctx.Err())
	case <-b.quit:
		return errors.New("sim: board is closed")
	}
}

// Close powers the board off and removes its port. Credentials stay in the state file.
func (b *Board) Close() error {
	b.closeOnce.Do(func() {
		done := make(chan struct{})
		if b.send(func() { b.unplug(); close(done) }) {
			<-done
		}
		close(b.quit)
		b.w.close()
		b.wg.Wait()
	})
	return nil
}

// plugIn connects the port and powers the board on.
func (b *Board) plugIn(port *vcom) {
	if b.cfg.Listen == "" { // a socket has no USB identity
		if err := publishUSB(b.cfg.RunDir, b.cfg.SerialNumber, b.prof, b.VCOM0()); err != nil {
			b.log.WithError(err).Warn("usb identity not published")
		}
	}
	b.port = port
	b.w.setPort(port.master)
	b.wg.Add(1)
	go b.readPort(port)
	b.powered = true
	b.boot(true)
}

// bootFlashed is boot after programming: target RAM starts cleared and the RTT control block
// moves.
func (b *Board) bootFlashed() {
	b.flashes++
	b.bootWith(false, true)
}

// unplug removes the port; the board is USB-powered, so it loses power too.
func (b *Board) unplug() {
	if b.port == nil {
		return
	}
	b.gen++
	b.w.flush(b.gen)
	b.w.setPort(nil)
	unpublishUSB(b.cfg.RunDir, b.cfg.SerialNumber)
	b.port.close()
	b.port = nil
	b.powered = false
	b.ready = false
	b.stopWake()
	b.queue, b.fifo = nil, nil
}

// readPort is the UART receiver: it reads what the host writes and posts it to the loop.
func (b *Board) readPort(port *vcom) {
	defer b.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := port.master.Read(buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			at := time.Now()
			if !b.send(func() { b.receive(port, data, at) }) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// boot starts the firmware from reset. power is true for a power-on (rather than a reset),
// which may leave junk in the receive buffer.
func (b *Board) boot(power bool) { b.bootWith(power, false) }

func (b *Board) bootWith(power, flashed bool) {
	b.gen++
	b.stats.Boots++
	b.w.flush(b.gen)
	b.stopWake()
	b.queue, b.fifo = nil, nil
	b.busy, b.hung, b.ready = false, false, false
	b.booted = make(chan struct{})
	b.fw = newFirmware(b.nvm.firmware.Personality, b.cfg.Termination, b.cfg.TermSet, lineLimitFor(b.nvm.firmware.Personality, b.cfg.LineLimit))
	b.modem.boot()
	b.halted = false
	b.rttBoot(power, flashed)
	if rx := b.fw.rx(); rx != nil {
		rx.reset()
		if power && b.cfg.FirstCommandError {
			rx.feed(0xff)
		}
	}
	b.log.WithFields(logrus.Fields{"personality": b.fw.personality(), "power_on": power}).Debug("boot")
	banner, ready := b.fw.boot()
	if noise := b.faults.takeNoise(); len(noise) > 0 {
		b.emit(noise, nil)
	}
	booted, gen := b.booted, b.gen
	if ready == nil {
		b.emit(banner, func() { close(booted) })
		return
	}
	b.emit(banner, nil)
	time.AfterFunc(b.cfg.ReadyDelay, func() {
		b.send(func() {
			if b.gen != gen {
				return
			}
			b.ready = true
			b.emit(ready, func() { close(booted) })
		})
	})
}

// emit queues output; done runs on the loop once it has been written (unless a reset came first).
func (b *Board) emit(data []byte, done func()) {
	if len(data) == 0 && done == nil {
		return
	}
	if b.rttActive() {
		b.rttEmit(data, done)
		return
	}
	gen := b.gen
	var cb func(time.Time)
	if done != nil {
		// Runs on the writer goroutine, which waits until the loop has handled it. end is when
		// the last byte goes on the wire by the line's schedule, however late the writer runs.
		cb = func(end time.Time) {
			handled := make(chan struct{})
			if !b.send(func() {
				if b.gen == gen {
					b.outEnd = end
					done()
				}
				close(handled)
			}) {
				return
			}
			select {
			case <-handled:
			case <-b.quit:
			}
		}
	}
	if len(data) == 0 {
		done()
		return
	}
	b.w.enqueue(outChunk{data: data, gen: gen, done: cb})
}

// receive takes bytes from the UART receiver. Each byte arrives one byte time after the
// previous one at the earliest: the host's write returns at once, the wire is slower.
func (b *Board) receive(port *vcom, data []byte, at time.Time) {
	if port != b.port || !b.powered {
		return
	}
	if b.rttActive() {
		// The shell reads RTT, nothing reads the UART.
		return
	}
	data = b.checkLineSpeed(port, data)
	data = b.faults.input(data)
	b.stats.RxBytes += uint64(len(data))
	for _, c := range data {
		// A byte is received once its stop bit is in: one byte time after the host wrote it at
		// the earliest, and one byte time after the previous byte.
		t := b.last.Add(b.bt)
		if first := at.Add(b.bt); t.Before(first) {
			t = first
		}
		b.last = t
		b.queue = append(b.queue, inByte{c: c, at: t})
	}
	b.process()
}

func (b *Board) stopWake() {
	if b.wake != nil {
		b.wake.Stop()
		b.wake = nil
	}
}

// process feeds the firmware every byte whose time has come, and sets a timer for the next.
func (b *Board) process() {
	b.stopWake()
	now := time.Now()
	for len(b.queue) > 0 {
		ib := b.queue[0]
		if ib.at.After(now) {
			gen := b.gen
			b.wake = time.AfterFunc(ib.at.Sub(now), func() {
				b.send(func() {
					if b.gen == gen {
						b.process()
					}
				})
			})
			return
		}
		if b.busy {
			if !b.hung {
				// Held until the command completes; idle decides, by arrival time, what the
				// FIFO kept and what was lost (so a late-running loop loses nothing extra).
				return
			}
			if b.fw.busy() == busyHold || b.cfg.FlowControl {
				return
			}
			b.queue = b.queue[1:]
			if len(b.fifo) < b.cfg.BusyFIFO {
				b.fifo = append(b.fifo, ib.c)
			} else {
				b.stats.DroppedBusy++
			}
			continue
		}
		b.queue = b.queue[1:]
		b.handle(ib.c)
	}
}

// handle runs one byte through the firmware.
func (b *Board) handle(c byte) {
	if used, out := b.fw.control(c); used {
		b.emit(out, nil)
		return
	}
	rx := b.fw.rx()
	if rx == nil {
		return
	}
	var before int
	if ah, ok := rx.(*atHostRX); ok {
		before = ah.dropped
	}
	line, send, echo := rx.feed(c)
	if ah, ok := rx.(*atHostRX); ok && ah.dropped > before {
		b.stats.OverflowBytes++
	}
	if b.faults.echo {
		echo = []byte{c}
	}
	b.emit(echo, nil)
	if !send {
		return
	}
	st := b.fw.line(line, b.ready)
	if st.notReady {
		b.stats.CommandsBeforeReady++
		b.log.Debug("command before Ready: the modem library is not initialised, the AT host writes the command back")
	}
	switch {
	case st.modem != nil:
		b.execute(st.modem)
	case st.out != nil:
		b.busy = true
		b.emit(st.out, b.idle)
	}
}

// execute hands commands to the modem, one after the other (MoSh's AT mode can pipeline
// several). The AT host stays busy (receive off) until the last answer has been written.
func (b *Board) execute(cmds [][]byte) {
	b.busy = true
	var results []modemResult
	var latency time.Duration
	for _, cmd := range cmds {
		b.stats.Commands++
		hang := b.faults.hangNow(cmd)
		if hang && !b.faults.hangLate {
			b.hung = true
			b.stats.HungCommands++
			b.log.Debug("command hangs (fault)")
			return
		}
		res := b.modem.exec(cmd)
		if hang {
			res.hang = true // executed; the answer never comes
		}
		if res.hang {
			b.hung = true
			b.stats.HungCommands++
			b.log.Debug("command hangs (modem)")
			return
		}
		latency += res.latency + b.faults.extraLatency
		results = append(results, res)
	}
	gen := b.gen
	time.AfterFunc(latency, func() {
		b.send(func() {
			if b.gen != gen {
				return
			}
			limit := b.responseLimit()
			var out []byte
			for _, res := range results {
				out = append(out, b.fw.frame(res, limit)...)
			}
			out = b.faults.interleaveURCs(out, b.fw.urc)
			b.emit(out, b.idle)
		})
	})
}

func (b *Board) responseLimit() int {
	switch {
	case b.faults.truncate > 0:
		return b.faults.truncate
	case b.cfg.ResponseLimit > 0:
		return b.cfg.ResponseLimit
	case b.prof.ResponseLimit > 0:
		return b.prof.ResponseLimit
	}
	return lineLimitFor(b.fw.personality(), b.cfg.LineLimit)
}

// idle ends the busy window: what survived in the FIFO is received first.
func (b *Board) idle() {
	b.busy = false
	now := b.outEnd
	if now.IsZero() {
		now = time.Now()
	}
	if b.fw.busy() == busyDrop && !b.cfg.FlowControl {
		// Bytes that arrived before the answer was out met a receiver that was off: the FIFO
		// kept the first few, the rest were lost.
		for len(b.queue) > 0 && b.queue[0].at.Before(now) {
			if len(b.fifo) < b.cfg.BusyFIFO {
				b.fifo = append(b.fifo, b.queue[0].c)
			} else {
				b.stats.DroppedBusy++
			}
			b.queue = b.queue[1:]
		}
	}
	if len(b.fifo) > 0 {
		kept := make([]inByte, 0, len(b.fifo)+len(b.queue))
		for _, c := range b.fifo {
			kept = append(kept, inByte{c: c, at: now})
		}
		b.queue = append(kept, b.queue...)
		b.fifo = nil
	}
	if b.cfg.FlowControl && b.fw.busy() == busyDrop {
		// The sender was held by CTS: the held bytes arrive from now on, one byte time apart.
		t := now
		for i := range b.queue {
			if b.queue[i].at.Before(t) {
				b.queue[i].at = t
			}
			t = b.queue[i].at.Add(b.bt)
		}
		if len(b.queue) > 0 {
			b.last = b.queue[len(b.queue)-1].at
		}
	}
	if b.emitPendingURCs() {
		return
	}
	b.process()
}

// emitPendingURCs writes notifications that were waiting for the line to be free.
func (b *Board) emitPendingURCs() bool {
	if len(b.faults.urcs) == 0 || !b.ready {
		return false
	}
	var out []byte
	for _, u := range b.faults.urcs {
		out = append(out, b.fw.urc(u)...)
	}
	b.faults.urcs = nil
	b.emit(out, nil)
	b.process()
	return true
}

// outputFilter applies output faults (runs on the writer goroutine).
func (b *Board) outputFilter(p []byte) []byte {
	return b.faults.output(p)
}

// Reset reboots the board (a system reset through the debugger): the AT host's buffer and
// quote state are cleared, a hung command is abandoned, the modem restarts in CFUN=0.
// Credentials persist.
func (b *Board) Reset(ctx context.Context) error {
	return b.call(ctx, func() error {
		if !b.powered {
			return errUnplugged
		}
		b.boot(false)
		return nil
	})
}

// Unplug pulls the USB cable: the port disappears and the board loses power.
func (b *Board) Unplug(ctx context.Context) error {
	return b.call(ctx, func() error { b.unplug(); return nil })
}

// Replug plugs the USB cable back in: the port reappears at the same VCOM0 path (on a new
// pseudo-terminal) and the board powers on.
func (b *Board) Replug(ctx context.Context) error {
	return b.call(ctx, func() error {
		if b.port != nil {
			return nil
		}
		port, err := b.openPort()
		if err != nil {
			return err
		}
		b.plugIn(port)
		return nil
	})
}

// Flash programs new application firmware and resets the board.
func (b *Board) Flash(ctx context.Context, img FirmwareImage) error {
	if _, err := ParsePersonality(string(img.Personality)); err != nil {
		return err
	}
	return b.call(ctx, func() error {
		if !b.powered {
			return errUnplugged
		}
		b.nvm.firmware = img
		if err := b.nvm.save(); err != nil {
			return err
		}
		b.bootFlashed()
		return nil
	})
}

// State is a snapshot of the board for the control endpoint and tests. It carries credential
// hashes and sizes, never their contents.
type State struct {
	SerialNumber string              `json:"serial_number"`
	Profile      string              `json:"profile"`
	Firmware     FirmwareImage       `json:"firmware"`
	VCOM0        string              `json:"vcom0"`
	PTY          string              `json:"pty,omitempty"`
	Socket       string              `json:"serial_socket,omitempty"`
	Powered      bool                `json:"powered"`
	Ready        bool                `json:"ready"`
	Busy         bool                `json:"busy"`
	Hung         bool                `json:"hung"`
	CFUN         int                 `json:"cfun"`
	CMEE         int                 `json:"cmee"`
	RXPending    int                 `json:"rx_pending"`
	RXQueued     int                 `json:"rx_queued"`
	RXFIFO       int                 `json:"rx_fifo"`
	RXInQuotes   bool                `json:"rx_in_quotes"`
	Credentials  []CredentialSummary `json:"credentials"`
	Faults       []Fault             `json:"faults"`
	Stats        Stats               `json:"stats"`
	RTTAddress   uint32              `json:"rtt_address,omitempty"`
	Halted       bool                `json:"halted,omitempty"`
	// ModemFirmware is what AT+CGMR answers; BrokenStorage: every credential write hangs
	// until the modem firmware is programmed again.
	ModemFirmware string `json:"modem_firmware"`
	BrokenStorage bool   `json:"broken_storage,omitempty"`
}

// State returns a snapshot of the board.
func (b *Board) State(ctx context.Context) (State, error) {
	var s State
	err := b.call(ctx, func() error {
		s = State{
			SerialNumber:  b.cfg.SerialNumber,
			Profile:       b.prof.Name,
			Firmware:      b.nvm.firmware,
			VCOM0:         b.VCOM0(),
			Powered:       b.powered,
			Ready:         b.ready,
			Busy:          b.busy,
			Hung:          b.hung,
			CFUN:          b.modem.cfun,
			CMEE:          b.modem.cmee,
			Credentials:   b.nvm.summary(),
			Faults:        b.faults.list(),
			Stats:         b.stats,
			RXQueued:      len(b.queue),
			RXFIFO:        len(b.fifo),
			Halted:        b.halted,
			Socket:        b.cfg.Listen,
			ModemFirmware: b.prof.Revision,
			BrokenStorage: b.nvm.brokenStorage,
		}
		if b.rttActive() {
			s.RTTAddress = b.rttAddr
		}
		if b.port != nil {
			s.PTY = b.port.ptyPath()
		}
		switch rx := b.fw.rx().(type) {
		case *atHostRX:
			s.RXPending = len(rx.buf)
			s.RXInQuotes = rx.inQuote
		case *shellRX:
			s.RXPending = len(rx.buf)
		}
		b.w.mu.Lock()
		s.Stats.TxBytes = b.w.sent
		b.w.mu.Unlock()
		return nil
	})
	return s, err
}
