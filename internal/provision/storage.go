package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nrfprov/nrfprov/internal/cmng"
)

// ErrStorageBroken: even a tiny credential write hangs after a reset. The modem's credential
// storage looks broken; programming the modem firmware again is what helps (the field report's
// last step).
var ErrStorageBroken = errors.New("provision: the modem's credential storage looks broken")

// StorageBrokenError says which modem firmware the board runs (the package that reprograms it)
// and what hung.
type StorageBrokenError struct {
	// ModemFirmware is what AT+CGMR answered, e.g. mfw_nrf9160_1.3.5.
	ModemFirmware string
	// Cause is the hang of the tiny write.
	Cause error
	// Tag is the sec_tag the tiny write went to.
	Tag uint32
}

func (e *StorageBrokenError) Error() string {
	return fmt.Sprintf("%v: a %d-byte write (AT%%CMNG=0,%d,%d,\"%s\") still hangs after a reset (%v); programming the modem firmware (%s) again is what helps",
		ErrStorageBroken, len(probeContent), e.Tag, int(probeType), probeContent, e.Cause, e.ModemFirmware)
}

// Unwrap matches ErrStorageBroken (and not the hang: the remedy is not a reset).
func (e *StorageBrokenError) Unwrap() error { return ErrStorageBroken }

// The storage probe: a tiny, readable, non-secret credential in a free slot at the top of the
// user sec_tags (the last one whose PSK identity slot is empty), deleted again when it was
// written. A slot the user holds is never written: the probe must not cost a credential.
const (
	probeTag       uint32    = cmng.MaxUserTag
	probeType      cmng.Type = cmng.PSKID
	probeContent             = "nrfprov"
	probeTagsTried           = 4
)

// freeProbeTag lists the top user sec_tags and returns the first whose probe slot is empty;
// ok is false when every slot tried is taken (then there is no probe).
func (r *runner) freeProbeTag(ctx context.Context) (tag uint32, ok bool, err error) {
	for tag = probeTag; tag > probeTag-probeTagsTried; tag-- {
		entries, err := r.dev.Store.ListTag(ctx, tag)
		if err != nil {
			return 0, false, err
		}
		if !slices.ContainsFunc(entries, func(e cmng.Entry) bool { return e.Type == probeType }) {
			return tag, true, nil
		}
	}
	return 0, false, nil
}

// probeStorage runs when writes kept hanging after every reset allowed: it resets once more,
// checks that the modem answers a query (CFUN), and writes one tiny credential. If the query
// answers and the write hangs, the storage is broken (the board is reset again so that it is
// left answering); otherwise it returns nil and the caller gives up as before.
func (r *runner) probeStorage(ctx context.Context, cause error) error {
	if err := r.recover(ctx, cause); err != nil {
		return err
	}
	r.emit(Event{Kind: EventRecover, Message: "checking the credential storage with a tiny write"})
	if _, err := r.dev.Store.CFUN(ctx); err != nil {
		// The modem does not even answer a query: not the storage (a modem slower than the
		// deadlines, a link that lost the board).
		return nil
	}
	if err := r.goOffline(ctx); err != nil {
		return nil
	}
	tag, ok, err := r.freeProbeTag(ctx)
	if err != nil || !ok {
		return nil // no free slot to probe with, or the list did not answer: give up as before
	}
	_, err = r.dev.Store.Write(ctx, tag, probeType, []byte(probeContent))
	switch {
	case err == nil:
		if derr := r.dev.Store.Delete(ctx, tag, probeType); derr != nil && !isNotFound(derr) {
			return derr
		}
		return nil
	case !hung(err):
		return nil // the storage answered (even a refusal is an answer)
	}
	broken := &StorageBrokenError{ModemFirmware: r.fw.Raw, Cause: err, Tag: tag}
	if rerr := r.recover(ctx, err); rerr != nil {
		return errors.Join(broken, rerr)
	}
	return broken
}
