package provision

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nrfprov/nrfprov/internal/flash"
)

// Flasher puts firmware on the board and resets it: the flash runner, as the flash → provision
// → restore workflow sees it. what names the step for the flasher's own progress ("the AT
// client", "the application").
type Flasher interface {
	Program(ctx context.Context, what string, img *flash.Image) error
	Resetter
}

// ErrLeftOnATClient: the application could not be put back after provisioning; the board still
// runs the AT client.
var ErrLeftOnATClient = errors.New("the board still runs the AT client firmware")

// EventFlash is a step of the flash workflow the user must see whatever the output format: the
// state the board is left in.
const EventFlash EventKind = "flash"

// FlashWorkflow programs the AT client, provisions, and puts the application back.
type FlashWorkflow struct {
	Flasher  Flasher
	ATClient *flash.Image
	// App is put back after provisioning, whatever happened; nil leaves the AT client on the board.
	App *flash.Image
	// RestoreTimeout bounds putting the application back, which runs even after ctx is cancelled
	// (default 10 minutes).
	RestoreTimeout time.Duration
	// Events receives the EventFlash steps; nil discards them.
	Events func(Event)
}

// Run programs the AT client, calls provision with the flasher's reset for recovery, and then
// always tries to put the application back, also after ctx is cancelled: a board is never left
// silently on the AT client. The error reports both outcomes; ErrLeftOnATClient when the
// application could not be restored.
func (w FlashWorkflow) Run(ctx context.Context, provision func(ctx context.Context, reset Resetter) error) error {
	emit := func(msg string) {
		if w.Events != nil {
			w.Events(Event{Kind: EventFlash, Message: msg})
		}
	}
	perr := w.Flasher.Program(ctx, "the AT client", w.ATClient)
	if perr == nil {
		perr = provision(ctx, w.Flasher)
	} else {
		perr = fmt.Errorf("programming the AT client: %w", perr)
	}
	if w.App == nil {
		emit("the AT client stays on the board (--keep-at-client)")
		return perr
	}
	timeout := w.RestoreTimeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := w.Flasher.Program(rctx, "the application", w.App); err != nil {
		rerr := fmt.Errorf("%w: restoring the application %s failed: %w; put it back with `nrfprov flash %s`",
			ErrLeftOnATClient, w.App.Path, err, w.App.Path)
		if perr != nil {
			return fmt.Errorf("%w; and before that: %w", rerr, perr)
		}
		return rerr
	}
	emit("the application is back (" + w.App.Describe() + ")")
	return perr
}
