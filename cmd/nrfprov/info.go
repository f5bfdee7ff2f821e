package main

import (
	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/serialio"
)

// Verbs that say what is connected and what a board is: ports, info, imei, attoken.

func (a *app) newPortsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ports",
		Short: "List connected boards and their serial ports",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ports, err := serialio.ListPorts()
			if err != nil {
				return err
			}
			return a.print("ports", newPortsResult(serialio.Boards(ports)))
		},
	}
}

func (a *app) newInfoCmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "info",
		Short: "Show the board's link, modem firmware, IMEI and mode",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return onBoard(a, cmd.Context(), "info", func(d *device.Device) (infoResult, error) {
				i, err := d.Info(cmd.Context())
				return infoResult{i}, err
			})
		},
	})
}

func (a *app) newIMEICmd() *cobra.Command {
	return opensBoard(&cobra.Command{
		Use:   "imei",
		Short: "Print the modem's IMEI",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return onBoard(a, cmd.Context(), "imei", func(d *device.Device) (valueResult, error) {
				v, err := d.Store.IMEI(cmd.Context())
				return valueResult{Value: v}, err
			})
		},
	})
}

func (a *app) newAttokenCmd() *cobra.Command {
	var decode bool
	cmd := opensBoard(&cobra.Command{
		Use:   "attoken",
		Short: "Print the modem's attestation token (%ATTESTTOKEN, mfw 1.3 and later)",
		Long: `Print the modem's attestation token (%ATTESTTOKEN, mfw 1.3 and later): the text nRF Cloud
takes to claim the device. --decode also shows what it says (device UUID, device type, modem
firmware UUID, checked against %XMODEMUUID); its signature can only be checked by whoever knows
the device's identity key.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return onBoard(a, ctx, "attoken", func(d *device.Device) (attokenResult, error) {
				if !decode {
					tok, err := d.Store.AttestToken(ctx)
					return attokenResult{Value: tok}, err
				}
				tok, dec, match, err := d.Store.CheckedAttestToken(ctx)
				return attokenResult{Value: tok, Decoded: dec, FirmwareMatches: &match}, err
			})
		},
	})
	cmd.Flags().BoolVar(&decode, "decode", false, "also decode the token and check its firmware UUID against %XMODEMUUID")
	return cmd
}
