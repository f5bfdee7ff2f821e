package identity

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nrfprov/nrfprov/internal/cmng"
)

// Action is what an identity run does.
type Action string

// The identity actions, from least to most work.
const (
	// ActionKeep: the modem holds the recorded key and the certificate issued for it.
	ActionKeep Action = "keep"
	// ActionWriteCert: the key is proven; the certificate in the modem is missing or different,
	// and the recorded one is written back.
	ActionWriteCert Action = "write-cert"
	// ActionSign: the key is proven, but the recorded certificate no longer fits (another CA,
	// expired, another device ID): the recorded CSR is signed again and written.
	ActionSign Action = "sign"
	// ActionGenerate: no key nrfprov can prove: delete the sec_tag's client key and
	// certificate, %KEYGEN, sign, write.
	ActionGenerate Action = "generate+sign"
)

// Decision is the identity plan.
type Decision struct {
	SecTag   uint32 `json:"sec_tag"`
	Action   Action `json:"action"`
	Reason   string `json:"reason"`
	DeviceID string `json:"device_id,omitempty"` // known unless the UUID is yet to come from %KEYGEN
}

// Observed is what the modem showed for the identity's sec_tag.
type Observed struct {
	IMEI       string
	Entries    []cmng.Entry // the sec_tag's listing
	RealHashes bool         // the firmware lists the SHA-256 of the stored bytes
	// CertStoredSHA256 is the SHA-256 the recorded certificate has once stored (after the
	// dialect's line-ending change); "" without a record.
	CertStoredSHA256 string
}

// CASHA256 is the SHA-256 of the CA certificate's DER.
func CASHA256(spec *Spec) string {
	sum := sha256.Sum256(spec.CA.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Decide compares what the manifest wants with the record and the modem. It is pure: the same
// inputs give the same plan.
func Decide(spec *Spec, obs Observed, rec *Record, now time.Time) Decision {
	d := Decision{SecTag: spec.SecTag, Action: ActionGenerate}
	switch {
	case spec.IDSource == FromIMEI:
		d.DeviceID = spec.DeviceID(obs.IMEI, "")
	case rec != nil && rec.DeviceUUID != "":
		d.DeviceID = spec.DeviceID(obs.IMEI, rec.DeviceUUID) // the device's UUID does not change
	}
	var key, cert *cmng.Entry
	for i := range obs.Entries {
		e := &obs.Entries[i]
		if e.SecTag != spec.SecTag {
			continue
		}
		switch e.Type {
		case cmng.ClientKey:
			key = e
		case cmng.ClientCert:
			cert = e
		}
	}
	switch {
	case rec == nil:
		d.Reason = "no record of a key nrfprov had the modem generate for this IMEI and sec_tag"
		return d
	case !obs.RealHashes:
		d.Reason = "this modem firmware's hashes prove nothing, so the key in the modem cannot be matched with the record"
		return d
	case key == nil:
		d.Reason = "the modem holds no CLIENT_KEY in this sec_tag"
		return d
	case key.Hash != cmng.HashReal || key.SHA256 != rec.KeySHA256:
		d.Reason = "the CLIENT_KEY in the modem is not the one the record's certificate was issued for (its listed SHA-256 differs)"
		return d
	}
	d.DeviceID = spec.DeviceID(obs.IMEI, rec.DeviceUUID)
	switch {
	case rec.DeviceID != d.DeviceID:
		d.Action, d.Reason = ActionSign, fmt.Sprintf("the device ID is now %s (the certificate names %s)", d.DeviceID, rec.DeviceID)
		return d
	case rec.CASHA256 != CASHA256(spec):
		d.Action, d.Reason = ActionSign, "the recorded certificate was signed by another CA"
		return d
	}
	if _, err := CheckCert(spec, []byte(rec.CertPEM), rec.PublicKeySHA256, now); err != nil {
		d.Action, d.Reason = ActionSign, "the recorded certificate "+err.Error()
		return d
	}
	switch {
	case cert == nil:
		d.Action, d.Reason = ActionWriteCert, "the key is the recorded one; the modem holds no CLIENT_CERT"
	case cert.Hash != cmng.HashReal || cert.SHA256 != obs.CertStoredSHA256:
		d.Action, d.Reason = ActionWriteCert, "the key is the recorded one; the CLIENT_CERT in the modem is another certificate"
	default:
		d.Action, d.Reason = ActionKeep, "the modem holds the recorded key (listed SHA-256 matches) and its certificate (SHA-256 matches), which chains to the CA"
	}
	return d
}
