package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"time"
)

// Fault is one injected misbehaviour, as tests and the control endpoint describe it.
//
// Kinds:
//   - "drop", "corrupt": lose or bit-flip bytes on the link. Dir is "to_device" (default) or
//     "from_device"; Probability per byte (default 1), Skip bytes first, at most Count bytes
//     (0 = no limit), Seed for the random choices.
//   - "urc": the modem sends the notification line Text (e.g. "+CEREG: 2"); it comes out at
//     once when the line is idle, else between the lines of the next response.
//   - "hang": the command after Count further commands is swallowed: no answer, the AT host
//     stays busy until a reset. With Text, Count counts only the commands that start with Text
//     (e.g. "AT+CFUN=4": the first such command hangs). With Enabled the command is executed
//     first and only its answer never comes (a write that lands, then the modem hangs).
//   - "slow": the modem takes LatencyMS longer for every command (0 restores).
//   - "truncate": responses are cut after Bytes bytes, losing their final result code, like a
//     small AT buffer on read-back (0 restores).
//   - "power_off_warning": Enabled turns the %XPOFWARN condition on or off (+CME ERROR: 528;
//     refused on a profile without the rule, before mfw 1.3.2; see Profile.PowerOffWarning).
//   - "store_capacity": the modem's store takes at most Count user credentials (+CME ERROR: 515;
//     0 = no limit).
//   - "echo": Enabled makes the device echo every received byte.
//   - "noise": Count random bytes are written before the banner of the next boot.
//   - "broken_storage": the modem's credential store hangs every %CMNG write and delete and every
//     %KEYGEN (no answer, the AT host busy until a reset), through resets and power cycles, and
//     clear_faults does not heal it: only programming a modem firmware package does (modemfw.go).
//   - "line_speed": Enabled makes the board honour the line speed the host set on the port: when
//     it differs from the board's baud rate, every byte is garbled both ways (a host at the
//     wrong baud rate sees no answer it can read, and the board no command).
type Fault struct {
	Kind        string  `json:"kind"`
	Dir         string  `json:"dir,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	Count       int     `json:"count,omitempty"`
	Skip        int     `json:"skip,omitempty"`
	Seed        int64   `json:"seed,omitempty"`
	Text        string  `json:"text,omitempty"`
	LatencyMS   int     `json:"latency_ms,omitempty"`
	Bytes       int     `json:"bytes,omitempty"`
	Enabled     bool    `json:"enabled,omitempty"`
}

// isSwitch reports whether the kind is turned on and off by Enabled. Turning one off removes it
// from the active faults.
func (f Fault) isSwitch() bool {
	switch f.Kind {
	case "power_off_warning", "echo", "line_speed":
		return true
	}
	return false
}

// MarshalJSON writes "enabled" for the switch kinds even when false, so that a request to turn
// one off says so (see UnmarshalJSON).
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	if !f.isSwitch() {
		return json.Marshal(plain(f))
	}
	return json.Marshal(struct {
		plain
		Enabled bool `json:"enabled"`
	}{plain(f), f.Enabled})
}

// UnmarshalJSON reads a fault. A switch kind (power_off_warning, echo, line_speed) must say
// "enabled": {"kind":"power_off_warning"} alone is refused rather than read as "off".
func (f *Fault) UnmarshalJSON(p []byte) error {
	type plain Fault
	var v struct {
		plain
		Enabled *bool `json:"enabled"`
	}
	if err := json.Unmarshal(p, &v); err != nil {
		return err
	}
	*f = Fault(v.plain)
	if v.Enabled != nil {
		f.Enabled = *v.Enabled
	} else if f.isSwitch() {
		return fmt.Errorf(`sim: fault %s: "enabled" is missing: {"kind":%q,"enabled":true} turns it on, false turns it off`, f.Kind, f.Kind)
	}
	return nil
}

// faultState is the board's active faults. The loop owns it, except the byte faults, which the
// writer goroutine also reads (under mu).
type faultState struct {
	mu  sync.Mutex
	in  *byteFault
	out *byteFault

	active       []Fault
	hangAfter    int    // -1 = off
	hangOn       string // only commands starting with this count (empty: every command)
	hangLate     bool   // the hanging command is executed first
	extraLatency time.Duration
	truncate     int
	echo         bool
	noise        []byte
	urcs         []string
	stats        *Stats

	// line_speed (under mu): whether to compare, and what the host's last received bytes showed.
	lineSpeed     bool
	speedMismatch bool
}

func (f *faultState) input(p []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.in == nil {
		return p
	}
	hits := f.in.hits
	p = f.in.apply(p)
	if f.stats != nil {
		f.stats.DroppedFault += uint64(f.in.hits - hits)
	}
	if f.in.exhausted() {
		f.in = nil
	}
	return p
}

func (f *faultState) output(p []byte) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.speedMismatch {
		p = garble(p)
	}
	if f.out == nil {
		return p
	}
	p = f.out.apply(p)
	if f.out.exhausted() {
		f.out = nil
	}
	return p
}

func (f *faultState) hangNow(cmd []byte) bool {
	switch {
	case f.hangAfter < 0:
		return false
	case f.hangOn != "" && !bytes.HasPrefix(bytes.TrimSpace(cmd), []byte(f.hangOn)):
		return false
	case f.hangAfter == 0:
		f.hangAfter = -1
		return true
	}
	f.hangAfter--
	return false
}

func (f *faultState) takeNoise() []byte {
	n := f.noise
	f.noise = nil
	return n
}

// interleaveURCs puts pending notifications between the first and second line of a response
// (before a one-line response), where a real AT monitor callback can land.
func (f *faultState) interleaveURCs(out []byte, frame func(string) []byte) []byte {
	if len(f.urcs) == 0 {
		return out
	}
	var urc []byte
	for _, u := range f.urcs {
		urc = append(urc, frame(u)...)
	}
	f.urcs = nil
	at := 0
	if i := bytes.Index(out, []byte("\r\n")); i >= 0 && i+2 < len(out) {
		at = i + 2
	}
	res := make([]byte, 0, len(out)+len(urc))
	res = append(res, out[:at]...)
	res = append(res, urc...)
	return append(res, out[at:]...)
}

func (f *faultState) list() []Fault {
	return append([]Fault{}, f.active...)
}

// InjectFault activates a fault (see Fault for the kinds).
func (b *Board) InjectFault(ctx context.Context, ft Fault) error {
	return b.call(ctx, func() error { return b.inject(ft) })
}

func (b *Board) inject(ft Fault) error {
	f := &b.faults
	f.stats = &b.stats
	switch ft.Kind {
	case "drop", "corrupt":
		bf, err := newByteFault(ft)
		if err != nil {
			return err
		}
		f.mu.Lock()
		switch ft.Dir {
		case "", "to_device":
			f.in = bf
		case "from_device":
			f.out = bf
		default:
			f.mu.Unlock()
			return fmt.Errorf("sim: fault %s: dir %q (want to_device or from_device)", ft.Kind, ft.Dir)
		}
		f.mu.Unlock()
	case "urc":
		if ft.Text == "" || strings.ContainsAny(ft.Text, "\r\n") {
			return fmt.Errorf("sim: fault urc: text must be one non-empty line")
		}
		f.urcs = append(f.urcs, ft.Text)
		if !b.busy && b.ready {
			b.emitPendingURCs()
		}
	case "hang":
		if ft.Count < 0 {
			return fmt.Errorf("sim: fault hang: count must not be negative")
		}
		f.hangAfter, f.hangOn, f.hangLate = ft.Count, ft.Text, ft.Enabled
	case "slow":
		if ft.LatencyMS < 0 {
			return fmt.Errorf("sim: fault slow: latency_ms must not be negative")
		}
		f.extraLatency = time.Duration(ft.LatencyMS) * time.Millisecond
	case "truncate":
		if ft.Bytes < 0 {
			return fmt.Errorf("sim: fault truncate: bytes must not be negative")
		}
		f.truncate = ft.Bytes
	case "power_off_warning":
		if ft.Enabled && !b.prof.PowerOffWarning {
			return fmt.Errorf("sim: fault power_off_warning: profile %s has no power-off warning (%%XPOFWARN and 528 come with mfw 1.3.2)", b.prof.Name)
		}
		b.modem.powerOffWarning = ft.Enabled
	case "store_capacity":
		if ft.Count < 0 {
			return fmt.Errorf("sim: fault store_capacity: count must not be negative")
		}
		b.modem.capacity = ft.Count
	case "echo":
		f.echo = ft.Enabled
	case "line_speed":
		f.mu.Lock()
		f.lineSpeed = ft.Enabled
		f.speedMismatch = false
		f.mu.Unlock()
	case "broken_storage":
		if err := b.breakStorage(); err != nil {
			return err
		}
	case "noise":
		if ft.Count <= 0 || ft.Count > 1<<16 {
			return fmt.Errorf("sim: fault noise: count must be 1..65536")
		}
		rng := rand.New(rand.NewSource(ft.Seed))
		f.noise = make([]byte, ft.Count)
		rng.Read(f.noise)
	default:
		return fmt.Errorf("sim: unknown fault kind %q", ft.Kind)
	}
	if ft.isSwitch() {
		// A switch is listed once, while it is on.
		kept := f.active[:0]
		for _, a := range f.active {
			if a.Kind != ft.Kind {
				kept = append(kept, a)
			}
		}
		f.active = kept
		if !ft.Enabled {
			return nil
		}
	}
	f.active = append(f.active, ft)
	return nil
}

// ClearFaults removes every fault and restores the modem switches.
func (b *Board) ClearFaults(ctx context.Context) error {
	return b.call(ctx, func() error {
		f := &b.faults
		f.mu.Lock()
		f.in, f.out = nil, nil
		f.lineSpeed, f.speedMismatch = false, false
		f.mu.Unlock()
		f.active = nil
		f.hangAfter, f.hangOn, f.hangLate = -1, "", false
		f.extraLatency = 0
		f.truncate = 0
		f.echo = false
		f.noise = nil
		f.urcs = nil
		b.modem.powerOffWarning = false
		b.modem.capacity = 0
		return nil
	})
}
