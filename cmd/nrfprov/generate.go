package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
)

func (a *app) newGenerateCmd() *cobra.Command {
	var attrs, out string
	var der bool
	cmd := opensBoard(&cobra.Command{
		Use:   "generate TAG",
		Short: "Make the modem generate a private key in TAG and return its CSR (%KEYGEN)",
		Long: `Make the modem generate a private key in sec_tag TAG (it never leaves the modem) and return a
certificate signing request. Before it is written, its SHA-256 is checked against the digest in
the payload of the modem's COSE_Sign1 structure; the COSE signature itself is not checked (only
whoever holds the modem's attestation key material, nRF Cloud, can). The output is PEM unless --der.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, err := parseTag(args[0])
			if err != nil {
				return err
			}
			return onBoard(a, ctx, "generate", func(d *device.Device) (generateResult, error) {
				csr, err := offline(a, ctx, d, func() (*cmng.CSR, error) { return d.Store.KeyGen(ctx, tag, attrs) })
				if err != nil {
					return generateResult{}, err
				}
				r := generateResult{SecTag: tag, DeviceUUID: csr.DeviceUUID, DigestOK: csr.DigestOK, SHA256: cmng.SHA256Hex(csr.DER)}
				data := csr.PEM
				if der {
					data = csr.DER
				}
				switch {
				case out != "":
					if err := os.WriteFile(out, data, 0o644); err != nil {
						return r, fmt.Errorf("write %s: %w", out, err)
					}
					r.Out = out
				case der:
					r.der = csr.DER // the text output is the DER bytes; JSON carries the PEM
					r.CSR = string(csr.PEM)
				default:
					r.CSR = string(csr.PEM)
				}
				return r, nil
			})
		},
	})
	cmd.Flags().StringVar(&attrs, "attributes", "", `CSR subject, e.g. "O=Example,CN=device-1" (default: the modem's UUID as CN)`)
	cmd.Flags().StringVar(&out, "out", "", "write the CSR to this file instead of stdout")
	cmd.Flags().BoolVar(&der, "der", false, "DER instead of PEM")
	return cmd
}
