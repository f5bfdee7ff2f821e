package provision

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/flash"
)

// recordingFlasher notes what the workflow asks of the runner; fail names images whose
// programming fails.
type recordingFlasher struct {
	calls []string
	fail  map[string]error
}

func (f *recordingFlasher) Program(ctx context.Context, what string, img *flash.Image) error {
	f.calls = append(f.calls, "program "+img.Path)
	if err := ctx.Err(); err != nil {
		return err
	}
	return f.fail[img.Path]
}

func (f *recordingFlasher) Reset(context.Context) error {
	f.calls = append(f.calls, "reset")
	return nil
}

func image(path string) *flash.Image {
	return &flash.Image{Path: path, Format: "hex", Size: 4, SHA256: strings.Repeat("AB", 32), Segments: []flash.Segment{{Addr: 0, Data: []byte{1, 2, 3, 4}}}}
}

// TestFlashWorkflow: the AT client goes on first, provisioning gets the runner's reset, and the
// application always goes back (after a failed provision, after an interrupt); when it cannot,
// the error says so and keeps the provisioning error too.
func TestFlashWorkflow(t *testing.T) {
	errModem := errors.New("+CME ERROR: 515")
	errProbe := errors.New("lost connection to the debug probe")
	for _, c := range []struct {
		name      string
		keep      bool
		fail      map[string]error
		provision error
		cancel    bool
		wantCalls string
		wantErr   []error
		wantMsg   string // in the error
		wantEvent string
	}{
		{name: "ok", wantCalls: "program at.hex,reset,program app.hex", wantEvent: "the application is back"},
		{name: "provision fails, the application still goes back", provision: errModem,
			wantCalls: "program at.hex,reset,program app.hex", wantErr: []error{errModem}, wantEvent: "the application is back"},
		{name: "interrupted, the application still goes back", provision: context.Canceled, cancel: true,
			wantCalls: "program at.hex,reset,program app.hex", wantErr: []error{context.Canceled}, wantEvent: "the application is back"},
		{name: "the AT client cannot be programmed: no provisioning, the application goes back", fail: map[string]error{"at.hex": errProbe},
			wantCalls: "program at.hex,program app.hex", wantErr: []error{errProbe}, wantMsg: "programming the AT client", wantEvent: "the application is back"},
		{name: "both fail", provision: errModem, fail: map[string]error{"app.hex": errProbe},
			wantCalls: "program at.hex,reset,program app.hex", wantErr: []error{ErrLeftOnATClient, errProbe, errModem},
			wantMsg: "and before that", wantEvent: ""},
		{name: "keep the AT client", keep: true, wantCalls: "program at.hex,reset", wantEvent: "the AT client stays on the board"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &recordingFlasher{fail: c.fail}
			w := FlashWorkflow{Flasher: f, ATClient: image("at.hex"), App: image("app.hex")}
			if c.keep {
				w.App = nil
			}
			var events []string
			w.Events = func(e Event) {
				if e.Kind != EventFlash {
					t.Errorf("event kind %q", e.Kind)
				}
				events = append(events, e.Message)
			}
			err := w.Run(ctx, func(ctx context.Context, reset Resetter) error {
				if err := reset.Reset(ctx); err != nil {
					return err
				}
				if c.cancel {
					cancel()
				}
				return c.provision
			})
			if got := strings.Join(f.calls, ","); got != c.wantCalls {
				t.Errorf("calls %s, want %s", got, c.wantCalls)
			}
			if len(c.wantErr) == 0 && err != nil {
				t.Errorf("err %v", err)
			}
			for _, want := range c.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err %v, want it to wrap %v", err, want)
				}
			}
			if c.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), c.wantMsg)) {
				t.Errorf("err %v, want it to say %q", err, c.wantMsg)
			}
			if got := strings.Join(events, "|"); (c.wantEvent == "") != (got == "") || !strings.Contains(got, c.wantEvent) {
				t.Errorf("events %q, want %q", got, c.wantEvent)
			}
		})
	}
}
