package main

// The results of the board verbs and how they read as text. Every result is printed by
// a.print (printer.go); its text method is the only other thing that writes output.

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/serialio"
)

// table writes tab-separated rows aligned in columns.
func table(w io.Writer, rows func(tw io.Writer)) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rows(tw)
	tw.Flush()
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

func newPortsResult(boards []serialio.Board) portsResult {
	r := portsResult{Boards: []boardInfo{}}
	for _, b := range boards {
		bi := boardInfo{SerialNumber: b.SerialNumber, Model: b.Model, VID: b.VID, PID: b.PID, VCOM0: b.VCOM0()}
		for _, p := range b.Ports {
			bi.Ports = append(bi.Ports, p.Path)
		}
		r.Boards = append(r.Boards, bi)
	}
	return r
}

func (r portsResult) text(w io.Writer) {
	if len(r.Boards) == 0 {
		fmt.Fprintln(w, "no boards found")
		return
	}
	table(w, func(tw io.Writer) {
		fmt.Fprintln(tw, "SERIAL\tMODEL\tVID:PID\tVCOM0\tPORTS")
		for _, b := range r.Boards {
			fmt.Fprintf(tw, "%s\t%s\t%s:%s\t%s\t%s\n", b.SerialNumber, dash(b.Model), b.VID, b.PID, b.VCOM0, strings.Join(b.Ports, ","))
		}
	})
}

// --- info, imei, attoken

type infoResult struct{ device.Info }

func (r infoResult) text(w io.Writer) {
	hashes := "SHA-256 of the stored bytes"
	if !r.RealHashes {
		hashes = "not trustworthy on this firmware (placeholders or unverified)"
	}
	table(w, func(tw io.Writer) {
		fmt.Fprintf(tw, "port\t%s\n", r.Port)
		fmt.Fprintf(tw, "link\t%s AT, %s\n", r.Dialect, r.Terminator)
		fmt.Fprintf(tw, "modem firmware\t%s\n", r.ModemFirmware)
		fmt.Fprintf(tw, "credential hashes\t%s\n", hashes)
		fmt.Fprintf(tw, "IMEI\t%s\n", r.IMEI)
		fmt.Fprintf(tw, "modem firmware UUID\t%s\n", dash(r.ModemUUID))
		fmt.Fprintf(tw, "functional mode\tCFUN=%d\n", r.CFUN)
	})
}

type valueResult struct {
	Value string `json:"value"`
}

func (r valueResult) text(w io.Writer) { fmt.Fprintln(w, r.Value) }

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
	match := "does NOT match %XMODEMUUID"
	if r.FirmwareMatches != nil && *r.FirmwareMatches {
		match = "matches %XMODEMUUID"
	}
	table(w, func(tw io.Writer) {
		fmt.Fprintf(tw, "token\t%s\n", r.Value)
		fmt.Fprintf(tw, "message type\t%d\n", t.MessageType)
		fmt.Fprintf(tw, "device UUID\t%s\n", t.DeviceUUID)
		fmt.Fprintf(tw, "device type\t%d\n", t.DeviceType)
		fmt.Fprintf(tw, "firmware UUID\t%s (%s)\n", t.FirmwareUUID, match)
		if t.Challenge != "" {
			fmt.Fprintf(tw, "challenge\t%s\n", t.Challenge)
		}
		fmt.Fprintf(tw, "signature\t%d bytes (COSE_Sign1 by the device identity key; nRF Cloud verifies it)\n", t.SignatureBytes)
	})
}

// --- list, read, write, delete, deleteall

type listResult struct {
	Credentials []cmng.Entry `json:"credentials"`
}

func (r listResult) text(w io.Writer) {
	if len(r.Credentials) == 0 {
		fmt.Fprintln(w, "no credentials")
		return
	}
	table(w, func(tw io.Writer) {
		fmt.Fprintln(tw, "SEC_TAG\tTYPE\tNAME\tSHA-256\tHASH")
		for _, e := range r.Credentials {
			owner := ""
			if e.ModemOwned {
				owner = " (modem)"
			}
			fmt.Fprintf(tw, "%d\t%d\t%s%s\t%s\t%s\n", e.SecTag, e.Type, e.TypeName, owner, dash(e.SHA256), e.Hash)
		}
	})
}

type readResult struct {
	cmng.Entry
	Content string `json:"content"`
}

func (r readResult) text(w io.Writer) { io.WriteString(w, r.Content) }

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

// --- generate

type generateResult struct {
	SecTag     uint32 `json:"sec_tag"`
	DeviceUUID string `json:"device_uuid"`
	DigestOK   bool   `json:"digest_verified"`
	Out        string `json:"out,omitempty"`
	CSR        string `json:"csr_pem,omitempty"`
	SHA256     string `json:"csr_sha256"`
	der        []byte // --der without --out: the text output is these bytes
}

// csrChecked says exactly what generate checked about the CSR, and what it did not.
const csrChecked = "checked: its SHA-256 equals the digest in the modem's COSE_Sign1 payload; " +
	"not checked: that COSE signature, which only whoever holds the modem's attestation key material (nRF Cloud) can verify"

func (r generateResult) text(w io.Writer) {
	switch {
	case r.Out != "":
		fmt.Fprintf(w, "CSR for the key in sec_tag %d written to %s (%s)\n", r.SecTag, r.Out, csrChecked)
	case r.der != nil:
		w.Write(r.der)
	default:
		io.WriteString(w, r.CSR)
	}
}

// --- version

type versionResult struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Protocol int    `json:"transport_protocol"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

func (r versionResult) text(w io.Writer) {
	fmt.Fprintf(w, "nrfprov %s (commit %s, transport protocol %d, %s %s/%s)\n", r.Version, r.Commit, r.Protocol, r.Go, r.OS, r.Arch)
}
