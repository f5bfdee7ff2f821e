package provision

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/identity"
)

// IdentityReport is what became of the manifest's identity.
type IdentityReport struct {
	SecTag          uint32          `json:"sec_tag"`
	Action          identity.Action `json:"action"`
	Outcome         Outcome         `json:"outcome"`
	Proof           Proof           `json:"proof"`
	DeviceID        string          `json:"device_id,omitempty"`
	DeviceUUID      string          `json:"device_uuid,omitempty"`
	CertSHA256      string          `json:"client_cert_sha256,omitempty"` // as stored in the modem
	KeySHA256       string          `json:"client_key_listed_sha256,omitempty"`
	PublicKeySHA256 string          `json:"public_key_sha256,omitempty"`
	NotAfter        *time.Time      `json:"not_after,omitempty"`
	Record          string          `json:"record,omitempty"`
	CertFile        string          `json:"cert_file,omitempty"`
	Onboarding      string          `json:"onboarding,omitempty"`
	// OnboardingWritten: the onboarding file was created or changed by this run.
	OnboardingWritten bool   `json:"onboarding_written"`
	Detail            string `json:"detail,omitempty"`
}

// ErrIdentity is matched by every failure of the identity step.
var ErrIdentity = errors.New("provision: identity")

func (r *runner) now() time.Time {
	if r.o.Now != nil {
		return r.o.Now()
	}
	return time.Now()
}

// planIdentity decides what the identity needs, from the record and the listing.
func (r *runner) planIdentity(actual Actual) (*identity.Decision, error) {
	spec := r.m.Identity
	imei := r.rep.Device.IMEI
	rec, err := identity.LoadRecord(spec.Dir, imei, spec.SecTag)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	obs := identity.Observed{IMEI: imei, Entries: actual.Entries, RealHashes: actual.RealHashes}
	if rec != nil {
		obs.CertStoredSHA256 = cmng.SHA256Hex(cmng.Stored([]byte(rec.CertPEM), r.dev.Detected.Dialect))
	}
	d := identity.Decide(spec, obs, rec, r.now())
	return &d, nil
}

// applyIdentity carries out the identity plan: generate the key in the modem and check its CSR,
// sign it, save the record, write the certificate (verified by SHA-256 in Store.Write).
func (r *runner) applyIdentity(ctx context.Context, d *identity.Decision, done, total int) error {
	spec := r.m.Identity
	st := r.dev.Store
	imei := r.rep.Device.IMEI
	r.emit(Event{Kind: EventApply, Message: fmt.Sprintf("identity %s sec_tag %d", d.Action, spec.SecTag), Done: done, Total: total})
	rec, err := identity.LoadRecord(spec.Dir, imei, spec.SecTag)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	action := d.Action
	if action != identity.ActionGenerate && rec == nil {
		action = identity.ActionGenerate // the record went away since the plan
	}
	if action == identity.ActionGenerate {
		if rec, err = r.generateKey(ctx, imei); err != nil {
			return err
		}
		r.rep.Generated++
	}
	if action == identity.ActionGenerate || action == identity.ActionSign {
		b, _ := pem.Decode([]byte(rec.CSRPEM))
		if b == nil {
			return fmt.Errorf("%w: the record %s holds no CSR: move it away to make the identity again", ErrIdentity, identity.RecordPath(spec.Dir, imei, spec.SecTag))
		}
		rec.DeviceID = spec.DeviceID(imei, rec.DeviceUUID)
		cert, err := identity.Sign(spec, b.Bytes, rec.DeviceID, r.now())
		if err != nil {
			return fmt.Errorf("%w: %w", ErrIdentity, err)
		}
		rec.CertPEM, rec.CASHA256 = string(cert), identity.CASHA256(spec)
		// The record is saved before the certificate is written: a run cut here finds the key
		// proven and only writes the certificate.
		if err := rec.Save(spec.Dir); err != nil {
			return fmt.Errorf("%w: %w", ErrIdentity, err)
		}
	}
	// Sent in the form the link stores exactly (CR LF line breaks through the shell), so the
	// bytes sent are the bytes stored.
	_, err = st.Write(ctx, spec.SecTag, cmng.ClientCert, cmng.Stored([]byte(rec.CertPEM), r.dev.Detected.Dialect))
	var ve *cmng.VerifyError
	if err != nil && !errors.As(err, &ve) {
		return err
	}
	r.rep.identityWrites++ // a hash mismatch is reported by verify
	return nil
}

// generateKey clears the sec_tag's client key and certificate, has the modem generate a new key
// and CSR, checks the CSR and its COSE digest, and returns the record of the new key (not yet
// saved: it has no certificate).
func (r *runner) generateKey(ctx context.Context, imei string) (*identity.Record, error) {
	spec := r.m.Identity
	st := r.dev.Store
	for _, t := range []cmng.Type{cmng.ClientCert, cmng.ClientKey} {
		if err := st.Delete(ctx, spec.SecTag, t); err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	csr, err := st.KeyGen(ctx, spec.SecTag, spec.KeygenAttributes(imei))
	if err != nil {
		return nil, err
	}
	if !csr.DigestOK {
		return nil, fmt.Errorf("%w: the modem's CSR is not covered by its COSE digest: nothing was signed", ErrIdentity)
	}
	req, err := x509.ParseCertificateRequest(csr.DER)
	if err != nil {
		return nil, fmt.Errorf("%w: the CSR: %w", ErrIdentity, err)
	}
	pub, err := identity.PublicKeySHA256(req.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: the CSR's public key: %w", ErrIdentity, err)
	}
	e, err := st.Get(ctx, spec.SecTag, cmng.ClientKey)
	if err != nil {
		return nil, err
	}
	if e == nil || e.Hash != cmng.HashReal || !r.fw.RealHashes() {
		return nil, fmt.Errorf("%w: after %%KEYGEN the modem does not list the new CLIENT_KEY with a real SHA-256, so the key cannot be recognised later", ErrIdentity)
	}
	return &identity.Record{IMEI: imei, SecTag: spec.SecTag, DeviceUUID: csr.DeviceUUID, KeySHA256: e.SHA256,
		PublicKeySHA256: pub, CSRPEM: string(csr.PEM)}, nil
}

// verifyIdentity proves the identity from a listing: the recorded key and the recorded
// certificate, which chains to the CA; then it makes sure the onboarding file holds the device.
func (r *runner) verifyIdentity(entries []cmng.Entry) error {
	spec := r.m.Identity
	imei := r.rep.Device.IMEI
	planned := identity.ActionKeep
	if r.rep.Plan.Identity != nil {
		planned = r.rep.Plan.Identity.Action
	}
	ir := &IdentityReport{SecTag: spec.SecTag, Action: planned, Outcome: OutcomeFailed, Proof: ProofNone,
		Record: identity.RecordPath(spec.Dir, imei, spec.SecTag)}
	r.rep.Identity = ir
	rec, err := identity.LoadRecord(spec.Dir, imei, spec.SecTag)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	obs := identity.Observed{IMEI: imei, Entries: entries, RealHashes: r.fw.RealHashes()}
	if rec != nil {
		obs.CertStoredSHA256 = cmng.SHA256Hex(cmng.Stored([]byte(rec.CertPEM), r.dev.Detected.Dialect))
	}
	d := identity.Decide(spec, obs, rec, r.now())
	if d.Action != identity.ActionKeep {
		ir.Detail = "not proven after the run: " + d.Reason
		return nil
	}
	ir.Outcome, ir.Proof = outcome(planned != identity.ActionKeep, OutcomeVerified), ProofSHA256
	ir.DeviceID, ir.DeviceUUID, ir.KeySHA256, ir.PublicKeySHA256 = rec.DeviceID, rec.DeviceUUID, rec.KeySHA256, rec.PublicKeySHA256
	ir.CertSHA256 = obs.CertStoredSHA256
	ir.CertFile = identity.CertPath(spec.Dir, rec.DeviceID)
	if c, err := identity.CheckCert(spec, []byte(rec.CertPEM), rec.PublicKeySHA256, r.now()); err == nil {
		na := c.NotAfter
		ir.NotAfter = &na
	}
	if spec.Onboarding == "" {
		return nil
	}
	ir.Onboarding = spec.Onboarding
	changed, err := identity.UpsertOnboarding(spec.Onboarding, identity.OnboardingRow{DeviceID: rec.DeviceID, SubType: spec.SubType,
		Tags: spec.Tags, FWTypes: spec.FWTypes, CertPEM: rec.CertPEM})
	if err != nil {
		ir.Outcome, ir.Detail = OutcomeFailed, err.Error()
		return nil
	}
	ir.OnboardingWritten = changed
	return nil
}
