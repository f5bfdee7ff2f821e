package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/identity"
	"github.com/nrfprov/nrfprov/plugin"
)

// Resetter resets the board some way other than through the transport: a flash tool's reset
// command, a virtual board's debugger.
type Resetter interface {
	Reset(ctx context.Context) error
}

// ResetFunc adapts a function to Resetter.
type ResetFunc func(ctx context.Context) error

// Reset calls f.
func (f ResetFunc) Reset(ctx context.Context) error { return f(ctx) }

// Options configure a provisioning run.
type Options struct {
	// Host runs the transport plugins; Device says which board and how.
	Host   *plugin.Host
	Device device.Options
	// Reset is used when a command hangs and the transport cannot reset the board itself.
	Reset Resetter
	// MaxRecoveries bounds the resets of one run (default 2).
	MaxRecoveries int
	// BootTimeout bounds the wait for the board after a reset (default 10 s).
	BootTimeout time.Duration
	// DryRun observes and plans, and writes nothing.
	DryRun bool
	// KeepCFUN leaves the modem's functional mode alone (writes fail with 518 when it is online).
	KeepCFUN bool
	// WriteLimit is the longest credential sent in one %CMNG write on firmware known to hang on
	// long writes (0: the firmware's inferred limit, cmng.FirmwareVersion.WriteHangsOver).
	WriteLimit int
	// Events receives progress; nil discards it.
	Events func(Event)
	// Now is the clock for certificate validity (nil: time.Now).
	Now func() time.Time
}

// EventKind names a step of the workflow.
type EventKind string

// Progress events, in the order a run emits them.
const (
	EventConnect  EventKind = "connect"
	EventIdentify EventKind = "identify"
	EventObserve  EventKind = "observe"
	EventPlan     EventKind = "plan"
	EventApply    EventKind = "apply"
	EventRecover  EventKind = "recover"
	EventVerify   EventKind = "verify"
	EventRestore  EventKind = "restore"
)

// Event is one step of progress. Library code never prints; the CLI renders these.
type Event struct {
	Kind    EventKind
	Message string
	Item    *Item // for EventApply
	Done    int   // items done so far in this pass
	Total   int   // items that change in this pass
}

// Outcome is what became of one credential.
type Outcome string

// Outcomes, from best to worst.
const (
	OutcomeKept         Outcome = "kept"         // already right; proven
	OutcomeVerified     Outcome = "verified"     // written and proven
	OutcomeDeleted      Outcome = "deleted"      // pruned, and no longer listed
	OutcomeUnverifiable Outcome = "unverifiable" // written; this firmware cannot prove it
	OutcomeFailed       Outcome = "failed"       // not as wanted, or not proven
)

// Proof is how an outcome was established.
type Proof string

const (
	ProofSHA256   Proof = "sha256"    // the modem's SHA-256 equals the SHA-256 of the bytes sent
	ProofReadBack Proof = "read-back" // the modem returned exactly the bytes sent
	ProofListing  Proof = "listing"   // a deleted credential is no longer listed
	ProofNone     Proof = "none"
)

// Result is the report line for one credential.
type Result struct {
	SecTag   uint32    `json:"sec_tag"`
	Type     cmng.Type `json:"type"`
	TypeName string    `json:"type_name"`
	Action   Action    `json:"action"`
	Outcome  Outcome   `json:"outcome"`
	Proof    Proof     `json:"proof"`
	SHA256   string    `json:"sha256,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Report is what a run did and proved.
type Report struct {
	Device     Fingerprint `json:"device"`
	Plan       Plan        `json:"plan"`
	Results    []Result    `json:"results"`
	Writes     int         `json:"writes"`  // results this run wrote that the modem now holds
	Deletes    int         `json:"deletes"` // results proven deleted
	Recoveries int         `json:"recoveries"`
	// RestoredCFUN is the functional mode put back at the start because an earlier run on
	// this board (by IMEI) ended without restoring it (killed, or the board hung).
	RestoredCFUN *int `json:"restored_cfun,omitempty"`
	// Generated counts the keys the modem generated (%KEYGEN) for the identity.
	Generated int             `json:"keys_generated"`
	Identity  *IdentityReport `json:"identity,omitempty"`
	DryRun    bool            `json:"dry_run,omitempty"`

	identityWrites int // the identity's certificate writes, counted into Writes
}

// Worst is the worst outcome in the report (kept when empty).
func (r *Report) Worst() Outcome {
	rank := map[Outcome]int{OutcomeKept: 0, OutcomeVerified: 0, OutcomeDeleted: 0, OutcomeUnverifiable: 1, OutcomeFailed: 2}
	worst := OutcomeKept
	for _, res := range r.Results {
		if rank[res.Outcome] > rank[worst] {
			worst = res.Outcome
		}
	}
	if r.Identity != nil && rank[r.Identity.Outcome] > rank[worst] {
		worst = r.Identity.Outcome
	}
	return worst
}

// ErrNeedsReset: a command hung and nothing can reset the board. Nothing was claimed about the
// credentials that were not proven.
var ErrNeedsReset = errors.New("provision: the board stopped answering and nrfprov cannot reset it")

// ErrGaveUp: the board kept hanging after every reset nrfprov was allowed.
var ErrGaveUp = errors.New("provision: the board keeps hanging after resets")

// Run provisions the board: connect, identify, take the modem offline, observe, plan, apply one
// command at a time, recover from hangs by resetting and re-planning from what the modem really
// holds, verify, restore the functional mode, and report. A returned error comes with the report
// of what was proven up to then (never more).
func Run(ctx context.Context, m *Manifest, o Options) (*Report, error) {
	if o.MaxRecoveries <= 0 {
		o.MaxRecoveries = 2
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = 10 * time.Second
	}
	r := &runner{m: m, o: o, rep: &Report{DryRun: o.DryRun}, origCFUN: -1, wrote: map[Key]bool{}, deleted: map[Key]bool{},
		refused: map[Key]error{}}
	err := r.run(ctx)
	if err == nil && len(r.refused) > 0 {
		// Everything else was written; these were refused before sending.
		err = r.refusedErr
	}
	if err != nil && len(r.rep.Results) == 0 && len(r.rep.Plan.Items) > 0 && !o.DryRun {
		r.partialResults(err)
	}
	r.rep.count()
	return r.rep, err
}

// count makes the summary agree with the rows: a credential counts as written when this run
// changed it and the modem now holds it (also when the write's own answer was lost and the
// re-plan found it in place), as deleted when it is proven gone.
func (rep *Report) count() {
	rep.Writes, rep.Deletes = rep.identityWrites, 0
	for _, res := range rep.Results {
		switch {
		case res.Outcome == OutcomeDeleted:
			rep.Deletes++
		case res.Action != ActionKeep && res.Action != ActionDelete && (res.Outcome == OutcomeVerified || res.Outcome == OutcomeUnverifiable):
			rep.Writes++
		}
	}
}

// partialResults reports every planned credential after a run that stopped before verifying:
// what a later observation or the write's own check proved, and as failed what was not done or
// not proven. Nothing is claimed that was not proven.
func (r *runner) partialResults(cause error) {
	latest := map[Key]Item{}
	for _, it := range r.lastPlan.Items {
		latest[it.Key()] = it
	}
	why := fmt.Sprintf("the run stopped before it was verified (%v)", cause)
	for _, it := range r.rep.Plan.Items {
		k := it.Key()
		res := Result{SecTag: it.SecTag, Type: it.Type, TypeName: it.TypeName, Action: it.Action, SHA256: it.WantSHA256,
			Outcome: OutcomeFailed, Proof: ProofNone}
		l, observed := latest[k]
		wrote := r.wrote[k]
		switch {
		case it.Action == ActionDelete && r.deleted[k]:
			res.Detail = "deleted (the modem answered OK), not proven: " + why
		case it.Action == ActionDelete:
			res.Detail = "not deleted: " + why
		case observed && l.Action == ActionKeep:
			res.Outcome = outcome(it.Action != ActionKeep, OutcomeVerified)
			res.Proof = ProofReadBack
			if l.HaveHash == cmng.HashReal && r.fw.RealHashes() {
				res.Proof = ProofSHA256
			}
		case wrote:
			res.Detail = "written (the modem answered OK), not proven: " + why
		default:
			res.Detail = "not written: " + why
		}
		r.rep.Results = append(r.rep.Results, res)
	}
}

type runner struct {
	m   *Manifest
	o   Options
	rep *Report
	dev *device.Device

	fw       cmng.FirmwareVersion
	origCFUN int  // the mode to restore, or -1 when nrfprov did not change it
	offline  bool // the modem is in CFUN=4 now

	refused    map[Key]error // credentials the modem firmware is known to hang on: never sent
	refusedErr error         // the same, with their manifest lines
	lastPlan   Plan          // the latest plan, made from the latest observation
	wrote      map[Key]bool  // writes the modem answered OK (verify proves them)
	deleted    map[Key]bool  // deletes the modem answered OK (or had nothing to delete)
}

func (r *runner) emit(e Event) {
	if r.o.Events != nil {
		r.o.Events(e)
	}
}

func (r *runner) run(ctx context.Context) (err error) {
	r.emit(Event{Kind: EventConnect, Message: "connecting"})
	if err := r.connect(ctx); err != nil {
		return err
	}
	defer r.dev.Close()
	d := r.dev
	r.emit(Event{Kind: EventIdentify, Message: "identifying the modem"})
	fw, imei, err := r.identify(ctx)
	if err != nil && hung(err) && r.o.MaxRecoveries > 0 {
		// The board stopped answering before anything was written: reset once and ask again.
		if rerr := r.recover(ctx, err); rerr != nil {
			return rerr
		}
		fw, imei, err = r.identify(ctx)
	}
	if err != nil {
		return err
	}
	r.fw = fw // a reset does not change the modem firmware: asked once per run
	if e := d.Restored; e != nil {
		r.rep.RestoredCFUN = &e.CFUN
		r.emit(Event{Kind: EventRestore, Message: fmt.Sprintf("an earlier run (since %s) did not restore the modem's functional mode: put CFUN=%d back",
			e.Since.Format(time.RFC3339), e.CFUN)})
	}
	r.rep.Device = Fingerprint{Port: d.Address, IMEI: imei, ModemFirmware: fw.Raw, Dialect: d.Detected.Dialect.String()}
	r.emit(Event{Kind: EventIdentify, Message: fmt.Sprintf("%s, IMEI %s, %s AT", fw.Raw, imei, d.Detected.Dialect)})
	if err := r.preflight(); err != nil {
		return err
	}
	r.refuseFirmwareLimits()

	// The modem's functional mode is restored whatever happens, if nrfprov changed it.
	defer func() {
		if r.origCFUN < 0 {
			return
		}
		// Restore even when ctx was cancelled: the board must not be left offline.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		r.emit(Event{Kind: EventRestore, Message: fmt.Sprintf("restoring CFUN=%d", r.origCFUN)})
		if rerr := r.dev.Store.RestoreCFUN(rctx, r.origCFUN); rerr != nil {
			err = errors.Join(err, fmt.Errorf("provision: restore CFUN=%d: %w", r.origCFUN, rerr))
		}
	}()

	// Observe, plan and apply until an observation needs no change or follows the changes: that
	// listing (one per sec_tag) is the proof verify reads, so a hang while proving recovers
	// like any other.
	var last Actual
	applied, planned, resets := false, false, 0
	for {
		plan, actual, err := r.observeAndPlan(ctx, applied)
		if err == nil && !planned {
			r.rep.Plan, planned = plan, true
		}
		if err == nil {
			r.lastPlan = plan
		}
		if err == nil {
			last = actual
			if r.o.DryRun {
				return nil
			}
			if applied || plan.Changes() == 0 {
				break
			}
			if err = r.goOffline(ctx); err == nil {
				err = r.apply(ctx, plan)
			}
			if err == nil {
				applied = true
				continue
			}
		}
		if !hung(err) {
			return err
		}
		if resets >= r.o.MaxRecoveries {
			if resets > 0 && !r.o.DryRun {
				// It hung again after a reset: is it this credential, or the storage itself?
				if perr := r.probeStorage(ctx, err); perr != nil {
					return perr
				}
			}
			return fmt.Errorf("%w (%d resets): %w", ErrGaveUp, resets, err)
		}
		if rerr := r.recover(ctx, err); rerr != nil {
			return rerr
		}
		resets++
		applied = false // what the reset left is observed and planned again
	}
	return r.verify(&last, !applied)
}

// preflight checks every credential against the link as detected (its dialect, terminator and
// line limit) before anything is sent or changed: a link that cannot carry a credential's exact
// bytes refuses it here, with the manifest line it comes from. The errors match
// cmng.ErrPreflight.
func (r *runner) preflight() error {
	var errs []error
	for _, c := range r.m.Credentials {
		err := r.dev.Store.Preflight(uint64(c.SecTag), c.Type, c.Content)
		var pe *cmng.PreflightError
		if err == nil || !errors.As(err, &pe) {
			continue
		}
		if c.isSecret() {
			// Content from the environment is secret whatever its type: no byte values.
			cut := *pe
			cut.Reason = byteValue.ReplaceAllString(cut.Reason, "")
			err = &cut
		}
		errs = append(errs, fmt.Errorf("%s (line endings %s): %w", c.Pos, c.LineEndings, err))
	}
	return errors.Join(errs...)
}

// refuseFirmwareLimits sets aside the credentials this modem firmware is known to hang on (mfw
// 0.7.0 and long writes): they are never sent, the rest is written, and the report says why and
// what to do.
func (r *runner) refuseFirmwareLimits() {
	var errs []error
	for _, c := range r.m.Credentials {
		if err := cmng.CheckFirmwareLimit(r.fw, r.o.WriteLimit, c.SecTag, c.Type, c.Content); err != nil {
			r.refused[Key{c.SecTag, c.Type}] = err
			errs = append(errs, fmt.Errorf("%s: %w", c.Pos, err))
		}
	}
	r.refusedErr = errors.Join(errs...)
}

// identify asks the modem firmware version and the IMEI.
func (r *runner) identify(ctx context.Context) (cmng.FirmwareVersion, string, error) {
	fw, err := r.dev.Store.FirmwareVersion(ctx)
	if err != nil {
		return fw, "", err
	}
	imei, err := r.dev.Store.IMEI(ctx)
	return fw, imei, err
}

// goOffline takes the modem to CFUN=4 before the first change (unless told not to), remembering
// the mode to restore.
func (r *runner) goOffline(ctx context.Context) error {
	if r.o.KeepCFUN || r.offline {
		return nil
	}
	prev, changed, err := r.dev.Store.TakeOffline(ctx)
	if changed && r.origCFUN < 0 {
		// Also when AT+CFUN=4 itself hung: the mode is restored once the board answers again.
		r.origCFUN = prev
	}
	if err != nil {
		return err
	}
	r.offline = true
	return nil
}

// connect opens the board. A board stuck from an earlier run (an AT host inside quotes) answers
// nothing: with a way to reset it, nrfprov resets and tries once more.
func (r *runner) connect(ctx context.Context) error {
	d, err := device.Open(ctx, r.o.Host, r.o.Device)
	if err == nil {
		r.dev = d
		return nil
	}
	if !hung(err) {
		return err
	}
	dopt := r.o.Device
	r.emit(Event{Kind: EventRecover, Message: "the board answers nothing: resetting it"})
	if r.o.Reset != nil {
		if rerr := r.o.Reset.Reset(ctx); rerr != nil {
			return fmt.Errorf("provision: reset: %w (after: %w)", rerr, err)
		}
		dopt.ExpectBoot = true
	} else {
		// The transport's own reset (a debugger's), which also waits for the firmware.
		rerr := device.ResetThroughTransport(ctx, r.o.Host, r.o.Device)
		if errors.Is(rerr, plugin.ErrNotSupported) {
			return err
		}
		if rerr != nil {
			return fmt.Errorf("provision: reset through the transport: %w (after: %w)", rerr, err)
		}
	}
	r.rep.Recoveries++
	d, err2 := device.Open(ctx, r.o.Host, dopt)
	if err2 != nil {
		if hung(err2) {
			// Nothing answered before the reset and nothing after it: not a stuck board but
			// no AT host at this port and speed; the first error says what was tried.
			return fmt.Errorf("%w; not even after a reset: %v", err, err2)
		}
		return err2
	}
	r.dev = d
	return nil
}

// hung reports whether err means the board stopped answering (as opposed to refusing).
func hung(err error) bool {
	return errors.Is(err, at.ErrTimeout) || errors.Is(err, at.ErrNoATHost)
}

// recover resets the board and brings the session back; the caller re-plans from scratch.
func (r *runner) recover(ctx context.Context, cause error) error {
	r.emit(Event{Kind: EventRecover, Message: fmt.Sprintf("the board stopped answering (%v): resetting it", cause)})
	var err error
	switch {
	case r.o.Reset != nil:
		err = r.o.Reset.Reset(ctx)
	default:
		err = r.dev.Reset(ctx, "")
		if errors.Is(err, plugin.ErrNotSupported) {
			return fmt.Errorf("%w: %w; reset the board (button or power) and run nrfprov again: it re-plans from what the modem holds, or give it a way to reset (--reset-cmd)", ErrNeedsReset, cause)
		}
	}
	if err != nil {
		return fmt.Errorf("provision: reset: %w (after: %w)", err, cause)
	}
	r.rep.Recoveries++
	r.offline = false // the modem boots in CFUN=0; goOffline sets 4 again before the next change
	return r.dev.Resync(ctx, r.o.BootTimeout)
}

// observeAndPlan lists the modem, reads back what only a read-back can prove, and plans.
func (r *runner) observeAndPlan(ctx context.Context, proving bool) (Plan, Actual, error) {
	d := r.dev
	if proving {
		r.emit(Event{Kind: EventVerify, Message: "verifying"})
	} else {
		r.emit(Event{Kind: EventObserve, Message: "listing the modem's credentials"})
	}
	entries, err := r.list(ctx)
	if err != nil {
		return Plan{}, Actual{}, err
	}
	actual := Actual{Entries: entries, ReadBack: map[Key][]byte{}, RealHashes: r.fw.RealHashes()}
	listed := map[Key]cmng.Entry{}
	for _, e := range entries {
		listed[Key{e.SecTag, e.Type}] = e
	}
	for _, c := range r.m.Credentials {
		k := Key{c.SecTag, c.Type}
		e, ok := listed[k]
		if !ok || !c.Type.Readable() || (e.Hash == cmng.HashReal && actual.RealHashes) {
			continue
		}
		_, content, err := d.Store.Read(ctx, c.SecTag, c.Type)
		switch {
		case err == nil:
			actual.ReadBack[k] = content
		case errors.Is(err, cmng.ErrTruncated):
			// The device's buffer cut the answer: no proof either way; the plan rewrites it.
		default:
			return Plan{}, Actual{}, err
		}
	}
	plan := MakePlan(r.m, d.Detected.Dialect, actual, r.rep.Device)
	if r.m.Identity != nil {
		id, err := r.planIdentity(actual)
		if err != nil {
			return Plan{}, Actual{}, err
		}
		plan.Identity = id
	}
	size := len(plan.Items)
	if plan.Identity != nil {
		size++
	}
	if !proving {
		r.emit(Event{Kind: EventPlan, Message: fmt.Sprintf("%d of %d to change", plan.Changes(), size)})
	}
	return plan, actual, nil
}

// listTagsMax is how many sec_tags a run lists one by one (AT%CMNG=1,<tag>); a manifest with more
// lists the whole modem once.
const listTagsMax = 4

// list lists what the plan needs: the manifest's, the pruned and the identity's sec_tags only, so the modem's own
// entries and other tags do not cross the wire, or everything when there are many tags.
func (r *runner) list(ctx context.Context) ([]cmng.Entry, error) {
	var tags []uint32
	seen := map[uint32]bool{}
	for _, c := range r.m.Credentials {
		if !seen[c.SecTag] {
			seen[c.SecTag] = true
			tags = append(tags, c.SecTag)
		}
	}
	more := r.m.Prune
	if r.m.Identity != nil {
		more = append(slices.Clone(more), r.m.Identity.SecTag)
	}
	for _, t := range more {
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	if len(tags) > listTagsMax {
		return r.dev.Store.List(ctx)
	}
	var all []cmng.Entry
	for _, t := range tags {
		es, err := r.dev.Store.ListTag(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.SecTag == t { // only what was asked for, whatever the modem adds
				all = append(all, e)
			}
		}
	}
	cmng.MarkSharedHashes(all) // as one listing of them all would have
	return all, nil
}

// apply carries the plan out one command at a time; verify then proves every write by listing.
func (r *runner) apply(ctx context.Context, plan Plan) error {
	total, done := plan.Changes(), 0
	for i := range plan.Items {
		it := &plan.Items[i]
		if !it.Changes() {
			continue
		}
		if err := r.refused[it.Key()]; err != nil {
			r.emit(Event{Kind: EventApply, Message: fmt.Sprintf("not sent: %v", err), Item: it, Done: done, Total: total})
			done++
			continue
		}
		r.emit(Event{Kind: EventApply, Message: fmt.Sprintf("%s %d %s", it.Action, it.SecTag, it.TypeName), Item: it, Done: done, Total: total})
		switch it.Action {
		case ActionDelete:
			if err := r.dev.Store.Delete(ctx, it.SecTag, it.Type); err != nil && !isNotFound(err) {
				return err
			}
			r.deleted[it.Key()] = true
		default:
			// Not listed one by one: verify lists once after every change and proves each
			// credential by its SHA-256 (or read-back); a mismatch is reported there as failed.
			if err := r.dev.Store.Put(ctx, it.SecTag, it.Type, it.content); err != nil {
				return err
			}
			r.wrote[it.Key()] = true // answered OK; proven (or not) by verify
		}
		done++
	}
	if id := plan.Identity; id != nil && id.Action != identity.ActionKeep {
		return r.applyIdentity(ctx, id, done, total)
	}
	return nil
}

func isNotFound(err error) bool {
	var me *cmng.ModemError
	return errors.As(err, &me) && me.Code == 513
}

// verify proves each credential from seen, or says it cannot: the observation made after the
// changes (or, when nothing changed, the one the plan was made from). announce emits the
// verify event, which the observation after changes has emitted already.
func (r *runner) verify(seen *Actual, announce bool) error {
	d := r.dev
	if announce {
		r.emit(Event{Kind: EventVerify, Message: "verifying"})
	}
	entries := seen.Entries
	fw := r.fw
	listed := map[Key]cmng.Entry{}
	for _, e := range entries {
		listed[Key{e.SecTag, e.Type}] = e
	}
	planned := map[Key]Action{}
	for _, it := range r.rep.Plan.Items {
		planned[it.Key()] = it.Action
	}
	for _, c := range r.m.Credentials {
		k := Key{c.SecTag, c.Type}
		stored := cmng.Stored(c.Content, d.Detected.Dialect)
		want := cmng.SHA256Hex(stored)
		res := Result{SecTag: c.SecTag, Type: c.Type, TypeName: c.Type.String(), Action: planned[k], SHA256: want}
		wrote := planned[k] != ActionKeep
		e, ok := listed[k]
		var pe *cmng.PreflightError
		switch {
		case wrote && errors.As(r.refused[k], &pe):
			res.Outcome, res.Proof, res.Detail = OutcomeFailed, ProofNone, "not sent: "+pe.Reason+"; "+pe.Fix
		case !ok:
			res.Outcome, res.Proof, res.Detail = OutcomeFailed, ProofNone, "not listed by the modem after the write"
		case e.Hash == cmng.HashReal && fw.RealHashes():
			if e.SHA256 == want {
				res.Outcome, res.Proof = outcome(wrote, OutcomeVerified), ProofSHA256
			} else {
				res.Outcome, res.Proof, res.Detail = OutcomeFailed, ProofNone, "the modem lists SHA-256 "+e.SHA256
			}
		case c.Type.Readable():
			content, err := readBack(seen, k)
			switch {
			case err == nil && string(content) == string(stored):
				res.Outcome, res.Proof = outcome(wrote, OutcomeVerified), ProofReadBack
			case err == nil:
				res.Outcome, res.Proof, res.Detail = OutcomeFailed, ProofNone, "the read-back differs from the bytes sent"
			case errors.Is(err, cmng.ErrTruncated):
				res.Outcome, res.Proof, res.Detail = OutcomeUnverifiable, ProofNone, "listed; the read-back is cut by the device's AT buffer"
			default:
				return err
			}
		default:
			res.Outcome, res.Proof, res.Detail = OutcomeUnverifiable, ProofNone, "written, not verifiable on this firmware (its hashes prove nothing and this type cannot be read back)"
		}
		r.rep.Results = append(r.rep.Results, res)
	}
	for _, it := range r.rep.Plan.Items {
		if it.Action != ActionDelete {
			continue
		}
		res := Result{SecTag: it.SecTag, Type: it.Type, TypeName: it.TypeName, Action: ActionDelete, Outcome: OutcomeDeleted, Proof: ProofListing}
		if _, still := listed[it.Key()]; still {
			res.Outcome, res.Proof, res.Detail = OutcomeFailed, ProofNone, "still listed after the delete"
		}
		r.rep.Results = append(r.rep.Results, res)
	}
	if r.m.Identity != nil {
		return r.verifyIdentity(entries)
	}
	return nil
}

// readBack returns the credential's content as observed (a truncated read there left no entry).
func readBack(seen *Actual, k Key) ([]byte, error) {
	if c, ok := seen.ReadBack[k]; ok {
		return c, nil
	}
	return nil, &cmng.TruncatedError{Op: fmt.Sprintf("read sec_tag %d type %s", k.SecTag, k.Type), Reason: "cut short when observed"}
}

// outcome is kept for credentials that were not written, else the proven outcome.
func outcome(wrote bool, proven Outcome) Outcome {
	if !wrote {
		return OutcomeKept
	}
	return proven
}
