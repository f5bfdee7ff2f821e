package provision

import (
	"fmt"
	"testing"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
)

// TestMakePlan: each branch of the comparison, one row each.
func TestMakePlan(t *testing.T) {
	const tag = 42
	ca := []byte("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n")
	key := []byte("-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n")
	other := []byte("something else")
	entry := func(typ cmng.Type, content []byte, hash cmng.HashKind) cmng.Entry {
		e := cmng.Entry{SecTag: tag, Type: typ, TypeName: typ.String(), Hash: hash}
		switch hash {
		case cmng.HashReal:
			e.SHA256 = cmng.SHA256Hex(content)
		case cmng.HashPlaceholder:
			e.SHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
		}
		return e
	}
	caKey := Key{tag, cmng.RootCACert}
	for _, c := range []struct {
		name    string
		dialect at.Dialect
		cred    cmng.Type
		content []byte
		actual  Actual
		want    Action
	}{
		{"not listed", at.Raw, cmng.RootCACert, ca, Actual{RealHashes: true}, ActionWrite},
		{"real hash matches", at.Raw, cmng.RootCACert, ca,
			Actual{RealHashes: true, Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashReal)}}, ActionKeep},
		{"real hash differs", at.Raw, cmng.RootCACert, ca,
			Actual{RealHashes: true, Entries: []cmng.Entry{entry(cmng.RootCACert, other, cmng.HashReal)}}, ActionReplace},
		{"shell stores CR LF: the hash of the CR LF bytes matches", at.Shell, cmng.RootCACert, ca,
			Actual{RealHashes: true, Entries: []cmng.Entry{entry(cmng.RootCACert, cmng.Stored(ca, at.Shell), cmng.HashReal)}}, ActionKeep},
		{"shell: the hash of the LF bytes is not what it stores", at.Shell, cmng.RootCACert, ca,
			Actual{RealHashes: true, Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashReal)}}, ActionReplace},
		{"a real-looking hash on firmware whose hashes prove nothing, read back equal", at.Raw, cmng.RootCACert, ca,
			Actual{RealHashes: false, Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashReal)}, ReadBack: map[Key][]byte{caKey: ca}}, ActionKeep},
		{"placeholder, read back equal", at.Raw, cmng.RootCACert, ca,
			Actual{Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashPlaceholder)}, ReadBack: map[Key][]byte{caKey: ca}}, ActionKeep},
		{"placeholder, read back differs", at.Raw, cmng.RootCACert, ca,
			Actual{Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashPlaceholder)}, ReadBack: map[Key][]byte{caKey: ca[:10]}}, ActionReplace},
		{"placeholder, readable type, read-back cut short", at.Raw, cmng.RootCACert, ca,
			Actual{Entries: []cmng.Entry{entry(cmng.RootCACert, ca, cmng.HashPlaceholder)}}, ActionReplace},
		{"placeholder, a key cannot be read back", at.Raw, cmng.ClientKey, key,
			Actual{Entries: []cmng.Entry{entry(cmng.ClientKey, key, cmng.HashPlaceholder)}}, ActionUnverifiable},
		{"a key with a real hash matching", at.Raw, cmng.ClientKey, key,
			Actual{RealHashes: true, Entries: []cmng.Entry{entry(cmng.ClientKey, key, cmng.HashReal)}}, ActionKeep},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &Manifest{Credentials: []Credential{{SecTag: tag, Type: c.cred, Content: c.content}}}
			p := MakePlan(m, c.dialect, c.actual, Fingerprint{Port: "p"})
			if len(p.Items) != 1 {
				t.Fatalf("items %+v", p.Items)
			}
			it := p.Items[0]
			if it.Action != c.want || it.Reason == "" {
				t.Fatalf("action %q (%s), want %q", it.Action, it.Reason, c.want)
			}
			if want := cmng.SHA256Hex(cmng.Stored(c.content, c.dialect)); it.WantSHA256 != want {
				t.Errorf("want_sha256 %s, want the hash of the stored form %s", it.WantSHA256, want)
			}
			if p.Device.Port != "p" || p.Changes() != map[bool]int{true: 0, false: 1}[c.want == ActionKeep] {
				t.Errorf("plan %+v: changes %d", p.Device, p.Changes())
			}
		})
	}
}

// TestMakePlanPrune: a pruned sec_tag loses the types the manifest does not name, never the
// modem's own entries; other sec_tags are left alone; the plan is sorted by tag, then type.
func TestMakePlanPrune(t *testing.T) {
	ca := []byte("ca")
	m := &Manifest{Prune: []uint32{7, 4294967292}, Credentials: []Credential{
		{SecTag: 7, Type: cmng.RootCACert, Content: ca},
		{SecTag: 3, Type: cmng.PSKID, Content: []byte("id")},
	}}
	listed := func(tag uint32, typ cmng.Type, owned bool) cmng.Entry {
		return cmng.Entry{SecTag: tag, Type: typ, TypeName: typ.String(), Hash: cmng.HashReal, SHA256: cmng.SHA256Hex(ca), ModemOwned: owned}
	}
	actual := Actual{RealHashes: true, Entries: []cmng.Entry{
		listed(7, cmng.ClientKey, false),         // pruned: deleted
		listed(7, cmng.RootCACert, false),        // in the manifest, same bytes: kept
		listed(8, cmng.ClientCert, false),        // not pruned: left alone
		listed(4294967292, cmng.ClientKey, true), // the modem's own: never deleted
	}}
	p := MakePlan(m, at.Raw, actual, Fingerprint{})
	var got []string
	for _, it := range p.Items {
		got = append(got, fmt.Sprintf("%d/%s/%s", it.SecTag, it.TypeName, it.Action))
	}
	want := []string{"3/PSK_ID/write", "7/ROOT_CA_CERT/keep", "7/CLIENT_KEY/delete"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("plan %q, want %q", got, want)
	}
	if p.Changes() != 2 {
		t.Errorf("changes %d, want 2", p.Changes())
	}
}
