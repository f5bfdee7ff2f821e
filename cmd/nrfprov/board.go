package main

import (
	"context"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/journal"
)

// onBoard opens the one board of the link flags, runs fn, prints its result as command, and
// closes everything, also on error. It is the body of every single-board verb.
func onBoard[R result](a *app, ctx context.Context, command string, fn func(d *device.Device) (R, error)) error {
	if err := a.singleBoard(); err != nil {
		return err
	}
	host, _, err := a.host()
	if err != nil {
		return err
	}
	defer host.Close()
	d, err := device.Open(ctx, host, a.deviceOptions())
	if err != nil {
		return err
	}
	defer d.Close()
	a.log.WithFields(map[string]any{"port": d.Address, "dialect": d.Detected.Dialect, "term": d.Detected.Terminator}).Debug("board ready")
	if e := d.Restored; e != nil {
		a.log.Warnf("an earlier nrfprov run on this board (IMEI %s, since %s) did not restore the modem's functional mode: put CFUN=%d back",
			e.IMEI, e.Since.Format(time.RFC3339), e.CFUN)
	}
	r, err := fn(d)
	if err != nil {
		return err
	}
	return a.print(command, r)
}

// offline runs fn with the modem in CFUN=4 unless --keep-cfun.
func offline[T any](a *app, ctx context.Context, d *device.Device, fn func() (T, error)) (T, error) {
	if a.bf.keepCFUN {
		return fn()
	}
	var v T
	err := d.Store.Offline(ctx, func() error {
		var err error
		v, err = fn()
		return err
	})
	return v, err
}

// singleBoard refuses several --board values for the verbs that talk to one board.
func (a *app) singleBoard() error {
	if len(a.bf.boards) > 1 {
		return usagef("--board given %d times: only provision and plan take several boards", len(a.bf.boards))
	}
	return nil
}

// deviceOptions says which board to open and how, from the link flags.
func (a *app) deviceOptions() device.Options {
	o := device.Options{
		Transport:        a.bf.transport,
		Port:             a.bf.port,
		Board:            a.bf.board,
		Baud:             a.linkBaud(),
		BaudExplicit:     a.bf.baudSet || a.flagSet("baud"),
		RTSCTS:           a.bf.rtscts,
		TransportOptions: a.bf.transportOpts,
		Terminator:       a.bf.term,
		Dialect:          a.bf.dialect,
		Timing:           at.Timing{Baud: a.bf.baud, Latency: a.bf.latency},
		LineLimit:        a.bf.lineLimit,
		AllowReserved:    a.bf.allowReserved,
		Log:              a.log,
	}
	if a.bf.traceWire {
		o.Trace = a.progress.wireTracer()
	}
	if dir, err := journal.DefaultDir(); err == nil {
		o.Journal = journal.Open(dir)
	} else {
		a.log.Warnf("%v: the modem's functional mode is not journaled", err)
	}
	o.Progress = a.progress.transfers()
	return o
}
