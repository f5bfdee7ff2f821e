package provision

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/identity"
)

// Action is what the plan does with one (sec_tag, type).
type Action string

// The actions of a plan.
const (
	// ActionKeep: the modem holds exactly the desired bytes (proven by hash or read-back).
	ActionKeep Action = "keep"
	// ActionWrite: the modem does not hold it.
	ActionWrite Action = "write"
	// ActionReplace: the modem holds something else.
	ActionReplace Action = "replace"
	// ActionDelete: listed under a pruned sec_tag and not in the manifest.
	ActionDelete Action = "delete"
	// ActionUnverifiable: what the modem holds cannot be known (placeholder hash, no read-back
	// for this type): it is rewritten, and the write cannot be proven on this firmware.
	ActionUnverifiable Action = "unverifiable"
)

// Key names one credential slot.
type Key struct {
	SecTag uint32
	Type   cmng.Type
}

// Item is one line of a plan.
type Item struct {
	SecTag     uint32        `json:"sec_tag"`
	Type       cmng.Type     `json:"type"`
	TypeName   string        `json:"type_name"`
	Action     Action        `json:"action"`
	Reason     string        `json:"reason"`
	WantSHA256 string        `json:"want_sha256,omitempty"` // of the bytes the modem will store
	HaveSHA256 string        `json:"have_sha256,omitempty"`
	HaveHash   cmng.HashKind `json:"have_hash,omitempty"`
	Source     string        `json:"source,omitempty"` // manifest file:line

	content []byte // what is sent; never printed
}

// Key returns the item's slot.
func (it Item) Key() Key { return Key{it.SecTag, it.Type} }

// Changes reports whether the item writes or deletes.
func (it Item) Changes() bool { return it.Action != ActionKeep }

// Fingerprint identifies the device a plan was made against.
type Fingerprint struct {
	Port          string `json:"port"`
	IMEI          string `json:"imei"`
	ModemFirmware string `json:"modem_firmware"`
	Dialect       string `json:"dialect"`
}

// Plan is what provisioning will do, made from what the modem really holds. It is a value:
// print it, compare it, test it.
type Plan struct {
	Device Fingerprint `json:"device"`
	Items  []Item      `json:"items"`
	// Identity is the plan for the manifest's identity, when it has one.
	Identity *identity.Decision `json:"identity,omitempty"`
}

// Changes counts the items that write or delete.
func (p Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.Changes() {
			n++
		}
	}
	if p.Identity != nil && p.Identity.Action != identity.ActionKeep {
		n++
	}
	return n
}

// Actual is what the modem holds, as observed.
type Actual struct {
	Entries []cmng.Entry
	// ReadBack holds the content read back for readable credentials whose listed hash cannot
	// prove anything (placeholder hashes). A slot missing here could not be read.
	ReadBack map[Key][]byte
	// RealHashes says the firmware reports the SHA-256 of the stored bytes.
	RealHashes bool
}

// MakePlan compares the manifest with the modem. dialect decides the stored form of the
// content (the shell stores CR LF line breaks).
func MakePlan(m *Manifest, dialect at.Dialect, actual Actual, fp Fingerprint) Plan {
	have := map[Key]cmng.Entry{}
	for _, e := range actual.Entries {
		have[Key{e.SecTag, e.Type}] = e
	}
	p := Plan{Device: fp, Items: []Item{}}
	want := map[Key]bool{}
	for _, c := range m.Credentials {
		k := Key{c.SecTag, c.Type}
		want[k] = true
		stored := cmng.Stored(c.Content, dialect)
		it := Item{SecTag: c.SecTag, Type: c.Type, TypeName: c.Type.String(), WantSHA256: cmng.SHA256Hex(stored),
			Source: c.Pos.String(), content: c.Content}
		e, listed := have[k]
		if listed {
			it.HaveSHA256, it.HaveHash = e.SHA256, e.Hash
		}
		trusted := listed && e.Hash == cmng.HashReal && actual.RealHashes
		rb, readBack := actual.ReadBack[k]
		switch {
		case !listed:
			it.Action, it.Reason = ActionWrite, "not in the modem"
		case trusted && e.SHA256 == it.WantSHA256:
			it.Action, it.Reason = ActionKeep, "SHA-256 matches"
		case trusted:
			it.Action, it.Reason = ActionReplace, "the modem holds different bytes (SHA-256 differs)"
		case readBack && bytes.Equal(rb, stored):
			it.Action, it.Reason = ActionKeep, "read-back matches (this firmware's hash proves nothing)"
		case readBack:
			it.Action, it.Reason = ActionReplace, fmt.Sprintf("read-back differs (%d bytes held, %d wanted)", len(rb), len(stored))
		case c.Type.Readable():
			it.Action, it.Reason = ActionReplace, "the hash proves nothing and the read-back was cut short: rewriting"
		default:
			it.Action = ActionUnverifiable
			it.Reason = fmt.Sprintf("listed with a hash that proves nothing (%s) and %s cannot be read back: rewriting, unprovable on this firmware", e.Hash, c.Type)
		}
		p.Items = append(p.Items, it)
	}
	prune := map[uint32]bool{}
	for _, t := range m.Prune {
		prune[t] = true
	}
	for _, e := range actual.Entries {
		k := Key{e.SecTag, e.Type}
		if prune[e.SecTag] && !want[k] && !e.ModemOwned {
			p.Items = append(p.Items, Item{SecTag: e.SecTag, Type: e.Type, TypeName: e.Type.String(), Action: ActionDelete,
				Reason: "sec_tag is pruned and this type is not in the manifest", HaveSHA256: e.SHA256, HaveHash: e.Hash})
		}
	}
	sort.SliceStable(p.Items, func(i, j int) bool {
		a, b := p.Items[i], p.Items[j]
		if a.SecTag != b.SecTag {
			return a.SecTag < b.SecTag
		}
		return a.Type < b.Type
	})
	return p
}
