package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/serialio"
)

func (a *app) boardCommands() []*cobra.Command {
	return []*cobra.Command{
		a.newPortsCmd(), a.newInfoCmd(), a.newListCmd(), a.newReadCmd(), a.newWriteCmd(),
		a.newDeleteCmd(), a.newDeleteAllCmd(), a.newIMEICmd(), a.newAttokenCmd(), a.newGenerateCmd(),
	}
}

// --- ports

type portsResult struct {
	Boards []boardInfo `json:"boards"`
}

type boardInfo struct {
	SerialNumber string   `json:"serial_number"`
	Model        string   `json:"model,omitempty"`
	VID          string   `json:"vid"`
	PID          string   `json:"pid"`
	VCOM0        string   `json:"vcom0"`
	Ports        []string `json:"ports"`
}

func (r portsResult) text(w io.Writer) {
	if len(r.Boards) == 0 {
		fmt.Fprintln(w, "no boards found")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tMODEL\tVID:PID\tVCOM0\tPORTS")
	for _, b := range r.Boards {
		fmt.Fprintf(tw, "%s\t%s\t%s:%s\t%s\t%s\n", b.SerialNumber, dash(b.Model), b.VID, b.PID, b.VCOM0, strings.Join(b.Ports, ","))
	}
	tw.Flush()
}

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
			r := portsResult{Boards: []boardInfo{}}
			for _, b := range serialio.Boards(ports) {
				bi := boardInfo{SerialNumber: b.SerialNumber, Model: b.Model, VID: b.VID, PID: b.PID, VCOM0: b.VCOM0()}
				for _, p := range b.Ports {
					bi.Ports = append(bi.Ports, p.Path)
				}
				r.Boards = append(r.Boards, bi)
			}
			return a.print("ports", r)
		},
	}
}

// --- info

type infoResult struct {
	Port            string `json:"port"`
	Dialect         string `json:"dialect"`
	Terminator      string `json:"terminator"`
	ModemFirmware   string `json:"modem_firmware"`
	FirmwareVersion string `json:"firmware_version"`
	RealHashes      bool   `json:"real_hashes"`
	IMEI            string `json:"imei"`
	ModemUUID       string `json:"modem_uuid"`
	CFUN            int    `json:"cfun"`
}

func (r infoResult) text(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "port\t%s\n", r.Port)
	fmt.Fprintf(tw, "link\t%s AT, %s\n", r.Dialect, r.Terminator)
	fmt.Fprintf(tw, "modem firmware\t%s\n", r.ModemFirmware)
	hashes := "SHA-256 of the stored bytes"
	if !r.RealHashes {
		hashes = "not trustworthy on this firmware (placeholders or unverified)"
	}
	fmt.Fprintf(tw, "credential hashes\t%s\n", hashes)
	fmt.Fprintf(tw, "IMEI\t%s\n", r.IMEI)
	fmt.Fprintf(tw, "modem firmware UUID\t%s\n", dash(r.ModemUUID))
	fmt.Fprintf(tw, "functional mode\tCFUN=%d\n", r.CFUN)
	tw.Flush()
}

func (a *app) newInfoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "Show the board's link, modem firmware, IMEI and mode",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBoard(ctx, func(d *device.Device) error {
				fw, err := d.Store.FirmwareVersion(ctx)
				if err != nil {
					return err
				}
				imei, err := d.Store.IMEI(ctx)
				if err != nil {
					return err
				}
				uuid, err := d.Store.ModemUUID(ctx)
				if err != nil {
					uuid = "" // old firmware has no %XMODEMUUID; not a reason to fail info
				}
				cfun, err := d.Store.CFUN(ctx)
				if err != nil {
					return err
				}
				return a.print("info", infoResult{
					Port: d.Address, Dialect: d.Detected.Dialect.String(), Terminator: d.Detected.Terminator.String(),
					ModemFirmware: fw.Raw, FirmwareVersion: fw.Semver(), RealHashes: fw.RealHashes(),
					IMEI: imei, ModemUUID: uuid, CFUN: cfun,
				})
			})
		},
	}
}

// --- list

type listResult struct {
	Credentials []cmng.Entry `json:"credentials"`
}

func (r listResult) text(w io.Writer) {
	if len(r.Credentials) == 0 {
		fmt.Fprintln(w, "no credentials")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEC_TAG\tTYPE\tNAME\tSHA-256\tHASH")
	for _, e := range r.Credentials {
		owner := ""
		if e.ModemOwned {
			owner = " (modem)"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s%s\t%s\t%s\n", e.SecTag, e.Type, e.TypeName, owner, dash(e.SHA256), e.Hash)
	}
	tw.Flush()
}

func (a *app) newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list [TAG]",
		Short: "List the credentials in the modem with their SHA-256",
		Args:  rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var tag *uint32
			if len(args) == 1 {
				t, err := parseTag(args[0])
				if err != nil {
					return err
				}
				tag = &t
			}
			return a.withBoard(ctx, func(d *device.Device) error {
				var entries []cmng.Entry
				var err error
				if tag != nil {
					entries, err = d.Store.ListTag(ctx, *tag)
				} else {
					entries, err = d.Store.List(ctx)
				}
				if err != nil {
					return err
				}
				if entries == nil {
					entries = []cmng.Entry{}
				}
				return a.print("list", listResult{Credentials: entries})
			})
		},
	}
}

// --- read

type readResult struct {
	cmng.Entry
	Content string `json:"content"`
}

func (r readResult) text(w io.Writer) { io.WriteString(w, r.Content) }

func (a *app) newReadCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "read TAG TYPE",
		Short: "Print a readable credential (root CA certificate or PSK identity)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			if !typ.Readable() {
				return usageError{fmt.Errorf("type %s cannot be read back from the modem (only %s and %s can); `nrfprov list` shows its SHA-256", typ, cmng.RootCACert, cmng.PSKID)}
			}
			return a.withBoard(ctx, func(d *device.Device) error {
				e, content, err := d.Store.Read(ctx, tag, typ)
				if err != nil {
					return err
				}
				return a.print("read", readResult{Entry: e, Content: string(content)})
			})
		},
	}
}

func tagType(args []string) (uint32, cmng.Type, error) {
	tag, err := parseTag(args[0])
	if err != nil {
		return 0, 0, err
	}
	typ, err := parseType(args[1])
	return tag, typ, err
}

// --- write

type writeResult struct {
	cmng.Entry
	Verified bool `json:"verified"`
}

func (r writeResult) text(w io.Writer) {
	state := "written and verified by SHA-256"
	if !r.Verified {
		state = "written; this firmware's hash cannot prove the content"
	}
	fmt.Fprintf(w, "%d %s: %s (%s)\n", r.SecTag, r.TypeName, state, dash(r.SHA256))
}

func (a *app) newWriteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "write TAG TYPE FILE",
		Short: "Write a credential from FILE (- for stdin) and verify it",
		Long: `Write a credential from FILE (- reads stdin) into the modem and verify it by SHA-256.

The bytes are sent exactly as they are in the file (line endings included) and the SHA-256 is
computed over them. The shell dialect stores every line break as CR LF, so through it a file
with LF line breaks is refused before sending: convert it to CR LF. The command is checked against the device's line limit and character rules before any
byte is sent. The modem is put in CFUN=4 for the write and returned to its previous mode after
(--keep-cfun leaves it alone).`,
		Args: exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			content, err := a.readInput(args[2])
			if err != nil {
				return err
			}
			// The same content checks as a manifest's (PEM, PSK hex).
			if probs := provision.ContentProblems(typ, content, inputName(args[2])); len(probs) > 0 {
				return usageError{errors.New(strings.Join(probs, "\n"))}
			}
			// Check what can be checked before touching the board: characters, tag, type, and the
			// raw command against the line limit. The store checks again for the detected dialect.
			if err := cmng.Preflight(uint64(tag), typ, content, at.Raw, cmng.Options{LineLimit: a.bf.lineLimit, AllowReserved: a.bf.allowReserved}); err != nil {
				return err
			}
			return a.withBoard(ctx, func(d *device.Device) error {
				// Again for the link as detected, before the modem's mode is changed.
				if err := d.Store.Preflight(uint64(tag), typ, content); err != nil {
					return err
				}
				var e cmng.Entry
				err := a.offline(ctx, d, func() error {
					var err error
					e, err = d.Store.Write(ctx, tag, typ, content)
					return err
				})
				if err != nil {
					return err
				}
				return a.print("write", writeResult{Entry: e, Verified: e.Hash == cmng.HashReal})
			})
		},
	}
}

// inputName names a credential input in messages.
func inputName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return "file " + name
}

func (a *app) readInput(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError{fmt.Errorf("credential file: %w", err)}
	}
	return b, nil
}

// --- delete, deleteall

type deleteResult struct {
	Deleted []cmng.Entry `json:"deleted"`
}

func (r deleteResult) text(w io.Writer) {
	if len(r.Deleted) == 0 {
		fmt.Fprintln(w, "nothing to delete")
	}
	for _, e := range r.Deleted {
		fmt.Fprintf(w, "deleted %d %s\n", e.SecTag, e.TypeName)
	}
}

func (a *app) newDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete TAG TYPE",
		Short: "Delete one credential",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			tag, typ, err := tagType(args)
			if err != nil {
				return err
			}
			return a.withBoard(ctx, func(d *device.Device) error {
				err := a.offline(ctx, d, func() error { return d.Store.Delete(ctx, tag, typ) })
				if err != nil {
					return err
				}
				return a.print("delete", deleteResult{Deleted: []cmng.Entry{{SecTag: tag, Type: typ, TypeName: typ.String()}}})
			})
		},
	}
}

func (a *app) newDeleteAllCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "deleteall --yes",
		Short: "Delete every credential in the user range (never the modem's own)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return usageError{fmt.Errorf("deleteall removes every user credential from the modem: pass --yes to confirm")}
			}
			ctx := cmd.Context()
			return a.withBoard(ctx, func(d *device.Device) error {
				var gone []cmng.Entry
				err := a.offline(ctx, d, func() error {
					var err error
					gone, err = d.Store.DeleteAll(ctx)
					return err
				})
				if err != nil {
					return err
				}
				if gone == nil {
					gone = []cmng.Entry{}
				}
				return a.print("deleteall", deleteResult{Deleted: gone})
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm deleting every user credential")
	return cmd
}

// --- imei, attoken

type valueResult struct {
	Value string `json:"value"`
}

func (r valueResult) text(w io.Writer) { fmt.Fprintln(w, r.Value) }

// newValueCmd is a verb that prints one value the board gives.
func (a *app) newValueCmd(use, short string, get func(*cmng.Store, context.Context) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBoard(ctx, func(d *device.Device) error {
				v, err := get(d.Store, ctx)
				if err != nil {
					return err
				}
				return a.print(use, valueResult{Value: v})
			})
		},
	}
}

func (a *app) newIMEICmd() *cobra.Command {
	return a.newValueCmd("imei", "Print the modem's IMEI", (*cmng.Store).IMEI)
}

type attokenResult struct {
	Value   string            `json:"value"`
	Decoded *cmng.AttestToken `json:"decoded,omitempty"`
	// FirmwareMatches: the token's firmware UUID is the one %XMODEMUUID reports.
	FirmwareMatches *bool `json:"firmware_uuid_matches,omitempty"`
}

func (r attokenResult) text(w io.Writer) {
	if r.Decoded == nil {
		fmt.Fprintln(w, r.Value)
		return
	}
	t := r.Decoded
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "token\t%s\n", r.Value)
	fmt.Fprintf(tw, "message type\t%d\n", t.MessageType)
	fmt.Fprintf(tw, "device UUID\t%s\n", t.DeviceUUID)
	fmt.Fprintf(tw, "device type\t%d\n", t.DeviceType)
	match := "does NOT match %XMODEMUUID"
	if r.FirmwareMatches != nil && *r.FirmwareMatches {
		match = "matches %XMODEMUUID"
	}
	fmt.Fprintf(tw, "firmware UUID\t%s (%s)\n", t.FirmwareUUID, match)
	if t.Challenge != "" {
		fmt.Fprintf(tw, "challenge\t%s\n", t.Challenge)
	}
	fmt.Fprintf(tw, "signature\t%d bytes (COSE_Sign1 by the device identity key; nRF Cloud verifies it)\n", t.SignatureBytes)
	tw.Flush()
}

func (a *app) newAttokenCmd() *cobra.Command {
	var decode bool
	cmd := &cobra.Command{
		Use:   "attoken",
		Short: "Print the modem's attestation token (%ATTESTTOKEN, mfw 1.3 and later)",
		Long: `Print the modem's attestation token (%ATTESTTOKEN, mfw 1.3 and later): the text nRF Cloud
takes to claim the device. --decode also shows what it says (device UUID, device type, modem
firmware UUID, checked against %XMODEMUUID); its signature can only be checked by whoever knows
the device's identity key.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBoard(ctx, func(d *device.Device) error {
				tok, err := d.Store.AttestToken(ctx)
				if err != nil {
					return err
				}
				r := attokenResult{Value: tok}
				if decode {
					if r.Decoded, err = cmng.ParseAttestToken(tok); err != nil {
						return err
					}
					fw, err := d.Store.ModemUUID(ctx)
					if err != nil {
						return err
					}
					m := strings.EqualFold(fw, r.Decoded.FirmwareUUID)
					r.FirmwareMatches = &m
				}
				return a.print("attoken", r)
			})
		},
	}
	cmd.Flags().BoolVar(&decode, "decode", false, "also decode the token and check its firmware UUID against %XMODEMUUID")
	return cmd
}

// --- generate

// csrChecked says exactly what generate checked about the CSR, and what it did not.
const csrChecked = "checked: its SHA-256 equals the digest in the modem's COSE_Sign1 payload; " +
	"not checked: that COSE signature, which only whoever holds the modem's attestation key material (nRF Cloud) can verify"

type generateResult struct {
	SecTag     uint32 `json:"sec_tag"`
	DeviceUUID string `json:"device_uuid"`
	DigestOK   bool   `json:"digest_verified"`
	Out        string `json:"out,omitempty"`
	CSR        string `json:"csr_pem,omitempty"`
	SHA256     string `json:"csr_sha256"`
}

func (r generateResult) text(w io.Writer) {
	if r.Out == "" {
		io.WriteString(w, r.CSR)
		return
	}
	fmt.Fprintf(w, "CSR for the key in sec_tag %d written to %s (%s)\n", r.SecTag, r.Out, csrChecked)
}

func (a *app) newGenerateCmd() *cobra.Command {
	var attrs, out string
	var der bool
	cmd := &cobra.Command{
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
			return a.withBoard(ctx, func(d *device.Device) error {
				var csr *cmng.CSR
				err := a.offline(ctx, d, func() error {
					var err error
					csr, err = d.Store.KeyGen(ctx, tag, attrs)
					return err
				})
				if err != nil {
					return err
				}
				sum := sha256.Sum256(csr.DER)
				r := generateResult{SecTag: tag, DeviceUUID: csr.DeviceUUID, DigestOK: csr.DigestOK, SHA256: strings.ToUpper(hex.EncodeToString(sum[:]))}
				data := csr.PEM
				if der {
					data = csr.DER
				}
				if out != "" {
					if err := os.WriteFile(out, data, 0o644); err != nil {
						return fmt.Errorf("write %s: %w", out, err)
					}
					r.Out = out
				} else if der && !a.bf.json {
					_, err := a.stdout.Write(data)
					return err
				} else {
					r.CSR = string(csr.PEM)
				}
				return a.print("generate", r)
			})
		},
	}
	cmd.Flags().StringVar(&attrs, "attributes", "", `CSR subject, e.g. "O=Example,CN=device-1" (default: the modem's UUID as CN)`)
	cmd.Flags().StringVar(&out, "out", "", "write the CSR to this file instead of stdout")
	cmd.Flags().BoolVar(&der, "der", false, "DER instead of PEM")
	return cmd
}
