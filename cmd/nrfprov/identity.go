package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/identity"
	"github.com/nrfprov/nrfprov/internal/provision"
)

func (a *app) newIdentityCmd() *cobra.Command {
	var pf provisionFlags
	cmd := opensBoard(&cobra.Command{
		Use:   "identity -m MANIFEST",
		Short: "Key generated in the modem, certificate signed by your CA, written and verified, onboarding file",
		Long: `Give the board the device identity of the manifest's identity: section, and nothing else of the
manifest. The modem generates the key pair in the sec_tag (%KEYGEN; the private key never leaves
it), nrfprov checks the CSR against the modem's signed COSE digest, signs it with your CA on this
computer, writes the client certificate (and identity.root_ca) back, verifies them by SHA-256,
and writes the onboarding file nRF Cloud's bulk onboarding takes.

A run keeps an identity the modem still holds: the record nrfprov keeps (identity.out) names the
digest the modem listed for the key it generated, and the key, the certificate and the chain to
the CA must all still match. --dry-run (or ` + "`nrfprov plan`" + ` with the whole manifest) shows
what would be done and touches nothing. ` + "`nrfprov provision`" + ` does the same as part of
the whole manifest. See docs/identity.md.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			pf.identityOnly = true
			if pf.dryRun {
				return a.runProvision(cmd.Context(), pf.command(), pf, nil)
			}
			runnerSet := cmd.Flags().Changed("runner") || cmd.Flags().Changed("gdb-address") || cmd.Flags().Changed("reset-kind")
			return a.runProvisionWorkflow(cmd.Context(), pf, runnerSet)
		},
	})
	a.addProvisionFlags(cmd, &pf, true)
	return cmd
}

// command is the verb the output envelope names: identity for the identity verb (also with
// --dry-run), else provision.
func (pf provisionFlags) command() string {
	if pf.identityOnly {
		return "identity"
	}
	return "provision"
}

// loadManifest loads the manifest (every problem reported before the board is touched) and,
// for the identity verb, reduces it to its identity.
func (a *app) loadManifest(pf provisionFlags) (*provision.Manifest, error) {
	m, err := provision.Load(pf.manifest, a.secrets.Lookup)
	if err != nil {
		return nil, usageError{err}
	}
	if !pf.identityOnly {
		return m, nil
	}
	if m.Identity == nil {
		return nil, usagef("%s has no identity: section: add one (docs/identity.md) or use `nrfprov provision`", pf.manifest)
	}
	return m.IdentityOnly(), nil
}

func identityItems(d *identity.Decision) int {
	if d == nil {
		return 0
	}
	return 1
}

func identityPlanText(w io.Writer, d *identity.Decision) {
	if d == nil {
		return
	}
	id := "device " + d.DeviceID
	if d.DeviceID == "" {
		id = "device ID from the UUID %KEYGEN reports"
	}
	fmt.Fprintf(w, "identity %d (%s): %s: %s\n", d.SecTag, id, d.Action, d.Reason)
}

func identityReportText(w io.Writer, r *provision.IdentityReport) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "identity %d: %s, %s", r.SecTag, r.Action, r.Outcome)
	if r.Proof != provision.ProofNone {
		fmt.Fprintf(w, " (%s)", r.Proof)
	}
	fmt.Fprintln(w)
	if r.Detail != "" {
		fmt.Fprintf(w, "  %s\n", r.Detail)
	}
	if r.DeviceID == "" {
		return
	}
	fmt.Fprintf(w, "  device ID %s, device UUID %s\n", r.DeviceID, r.DeviceUUID)
	fmt.Fprintf(w, "  client certificate SHA-256 %s, its public key is the modem's key (SHA-256 %s)\n", r.CertSHA256, r.PublicKeySHA256)
	if r.NotAfter != nil {
		fmt.Fprintf(w, "  valid until %s\n", r.NotAfter.Format("2006-01-02"))
	}
	fmt.Fprintf(w, "  certificate %s, record %s\n", r.CertFile, r.Record)
	if r.Onboarding != "" {
		state := "already holds the device"
		if r.OnboardingWritten {
			state = "written"
		}
		fmt.Fprintf(w, "  onboarding file %s: %s\n", r.Onboarding, state)
	}
}
