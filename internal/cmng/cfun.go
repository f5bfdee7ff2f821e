package cmng

import (
	"context"
	"errors"
	"fmt"

	"github.com/nrfprov/nrfprov/internal/journal"
)

// CFUNOffline is the functional mode Offline uses (flight mode: credentials can be written).
const CFUNOffline = 4

// TakeOffline puts the modem in CFUN=4 unless it is deactivated already (4, or 0 as it boots),
// and returns the mode it was found in. With a journal (Options.Journal) that mode is recorded under the board's IMEI before the
// mode is changed, so that a run that dies or hangs before RestoreCFUN leaves the way back
// behind. changed reports that AT+CFUN=4 was sent: also when it failed (the modem may have acted
// on it before it stopped answering), so the caller restores prev then.
func (c *Store) TakeOffline(ctx context.Context) (prev int, changed bool, err error) {
	prev, err = c.CFUN(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("cmng: offline: %w", err)
	}
	if prev == CFUNOffline || prev == 0 {
		// Deactivated already (offline, or powered off as the modem boots): writes are
		// allowed, nothing to set or restore.
		return prev, false, nil
	}
	if c.o.Journal != nil {
		if err := c.journal(ctx, func(imei string) error { return c.o.Journal.Save(imei, prev) }); err != nil {
			return prev, false, fmt.Errorf("cmng: offline: nothing changed: recording functional mode %d first: %w (set %s to a writable directory, or --keep-cfun)",
				prev, err, journal.EnvDir)
		}
	}
	if err := c.SetCFUN(ctx, CFUNOffline); err != nil {
		return prev, true, fmt.Errorf("cmng: offline: %w", err)
	}
	return prev, true, nil
}

// RestoreCFUN puts the modem back in mode prev and, once it is, removes the board's journal
// entry.
func (c *Store) RestoreCFUN(ctx context.Context, prev int) error {
	if err := c.SetCFUN(ctx, prev); err != nil {
		return err
	}
	if c.o.Journal == nil {
		return nil
	}
	return c.journal(ctx, c.o.Journal.Clear)
}

// RestoreJournaled puts back the functional mode an earlier, unfinished run journaled for this
// board (by IMEI), and returns that entry; nil when there was none. It asks the board nothing
// when the journal is empty.
func (c *Store) RestoreJournaled(ctx context.Context) (*journal.Entry, error) {
	if c.o.Journal == nil || c.o.Journal.Empty() {
		return nil, nil
	}
	var e *journal.Entry
	err := c.journal(ctx, func(imei string) error {
		var err error
		e, err = c.o.Journal.Get(imei)
		return err
	})
	if err != nil || e == nil {
		return nil, err
	}
	if err := c.RestoreCFUN(ctx, e.CFUN); err != nil {
		return nil, fmt.Errorf("cmng: restoring functional mode %d, which an earlier run journaled for IMEI %s: %w", e.CFUN, e.IMEI, err)
	}
	return e, nil
}

// journal runs fn with the board's IMEI (asked once per Store).
func (c *Store) journal(ctx context.Context, fn func(imei string) error) error {
	if c.imei == "" {
		if _, err := c.IMEI(ctx); err != nil {
			return err
		}
	}
	return fn(c.imei)
}

// Offline runs fn with the modem offline (CFUN=4) and then restores the mode it was in, also
// when fn fails or ctx ends; a failure to restore is joined to fn's error, not lost (and the
// journal keeps the mode for the next run). When the modem already is in CFUN=4, the mode is
// left alone.
func (c *Store) Offline(ctx context.Context, fn func() error) error {
	prev, changed, err := c.TakeOffline(ctx)
	if err != nil {
		return err
	}
	if !changed {
		return fn()
	}
	ferr := fn()
	// Restore even when ctx was cancelled; the command's own deadline bounds the wait.
	if rerr := c.RestoreCFUN(context.WithoutCancel(ctx), prev); rerr != nil {
		return errors.Join(ferr, fmt.Errorf("cmng: restoring functional mode %d: %w", prev, rerr))
	}
	return ferr
}
