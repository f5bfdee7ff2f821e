package provision

import (
	"context"
	"errors"
	"fmt"

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
}

func (e *StorageBrokenError) Error() string {
	return fmt.Sprintf("%v: a %d-byte write (AT%%CMNG=0,%d,%d,\"%s\") still hangs after a reset (%v); programming the modem firmware (%s) again is what helps",
		ErrStorageBroken, len(probeContent), probeTag, int(probeType), probeContent, e.Cause, e.ModemFirmware)
}

// Unwrap matches ErrStorageBroken (and not the hang: the remedy is not a reset).
func (e *StorageBrokenError) Unwrap() error { return ErrStorageBroken }

// The storage probe: a tiny, readable, non-secret credential in the last user sec_tag, deleted
// again when it was written.
const (
	probeTag     uint32    = cmng.MaxUserTag
	probeType    cmng.Type = cmng.PSKID
	probeContent           = "nrfprov"
)

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
	_, err := r.dev.Store.Write(ctx, probeTag, probeType, []byte(probeContent))
	switch {
	case err == nil:
		if derr := r.dev.Store.Delete(ctx, probeTag, probeType); derr != nil && !isNotFound(derr) {
			return derr
		}
		return nil
	case !hung(err):
		return nil // the storage answered (even a refusal is an answer)
	}
	broken := &StorageBrokenError{ModemFirmware: r.fw.Raw, Cause: err}
	if rerr := r.recover(ctx, err); rerr != nil {
		return errors.Join(broken, rerr)
	}
	return broken
}
