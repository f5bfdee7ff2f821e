package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/plugin"
)

var update = flag.Bool("update", false, "rewrite the golden files of the text renderers")

// TestTextRenderersGolden: what people read, pinned in testdata/golden/*.txt
// (go test ./cmd/nrfprov -run Golden -update rewrites them; review the diff).
func TestTextRenderersGolden(t *testing.T) {
	hashA := "3B4F0D5E1AA2C4E1B0A5D2F3E4C5B6A798F0E1D2C3B4A5968778695A4B3C2D1E"
	hashB := "0000000000000000000000000000000000000000000000000000000000000000"
	entries := []cmng.Entry{
		{SecTag: 16842753, Type: cmng.RootCACert, TypeName: "ROOT_CA_CERT", SHA256: hashA, Hash: cmng.HashReal},
		{SecTag: 16842753, Type: cmng.ClientKey, TypeName: "CLIENT_KEY", SHA256: hashB, Hash: cmng.HashPlaceholder},
		{SecTag: 4294967292, Type: 8, TypeName: "OWNERSHIP_KEY", Hash: cmng.HashAbsent, ModemOwned: true},
	}
	report := &provision.Report{
		Device: provision.Fingerprint{Port: "/dev/ttyACM0", IMEI: "352656100367872", ModemFirmware: "mfw_nrf9160_1.3.5", Dialect: "raw"},
		Plan: provision.Plan{Items: []provision.Item{
			{SecTag: 16842753, TypeName: "ROOT_CA_CERT", Action: provision.ActionKeep, Reason: "SHA-256 matches"},
			{SecTag: 16842753, TypeName: "CLIENT_CERT", Action: provision.ActionWrite, Reason: "not in the modem"},
			{SecTag: 16842753, TypeName: "CLIENT_KEY", Action: provision.ActionReplace, Reason: "the modem holds different bytes (SHA-256 differs)"},
		}},
		Results: []provision.Result{
			{SecTag: 16842753, TypeName: "ROOT_CA_CERT", Action: provision.ActionKeep, Outcome: provision.OutcomeKept, Proof: "sha256", SHA256: hashA},
			{SecTag: 16842753, TypeName: "CLIENT_CERT", Action: provision.ActionWrite, Outcome: provision.OutcomeVerified, Proof: "sha256", SHA256: hashA},
			{SecTag: 16842753, TypeName: "CLIENT_KEY", Action: provision.ActionReplace, Outcome: provision.OutcomeFailed, Proof: provision.ProofNone, Detail: "+CME ERROR: 528 (modem online)"},
		},
		Writes: 2, Recoveries: 1,
	}
	match := true
	jlink := []flash.Command{{
		Argv:  []string{"JLinkExe", "-device", "nRF9160_xxAA", "-CommandFile", "/tmp/nrfprov-flash-1/cmd.jlink"},
		Files: []flash.File{{Path: "/tmp/nrfprov-flash-1/cmd.jlink", Content: "r\nloadfile app.hex\nr\ng\nexit\n"}, {Path: "/tmp/nrfprov-flash-1/app.hex"}},
	}}
	nrfjprog := []flash.Command{{Argv: []string{"nrfjprog", "--program", "at client.hex", "--sectorerase", "--verify", "-f", "NRF91", "--snr", "960000001"}}}
	appPlan := flashResult{plan: nrfjprog, DryRun: true}
	for name, r := range map[string]result{
		"ports-none": portsResult{},
		"ports": portsResult{Boards: []boardInfo{
			{SerialNumber: "000960000001", Model: "nRF9160 DK", VID: "1366", PID: "1055", VCOM0: "/dev/ttyACM0", Ports: []string{"/dev/ttyACM0", "/dev/ttyACM1"}},
			{SerialNumber: "001050000002", VID: "1366", PID: "1061", VCOM0: "/dev/ttyACM2", Ports: []string{"/dev/ttyACM2"}},
		}},
		"info": infoResult{device.Info{Port: "/dev/ttyACM0", Dialect: "raw", Terminator: "crlf", ModemFirmware: "mfw_nrf9160_1.3.5",
			FirmwareVersion: "1.3.5", RealHashes: true, IMEI: "352656100367872", CFUN: 4}},
		"info-placeholders": infoResult{device.Info{Port: "/dev/ttyACM0", Dialect: "shell", Terminator: "cr", ModemFirmware: "mfw_nrf9160_0.7.0-29.alpha",
			IMEI: "352656100367872", ModemUUID: "7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01", CFUN: 1}},
		"list":          listResult{Credentials: entries},
		"list-empty":    listResult{Credentials: []cmng.Entry{}},
		"write":         writeResult{Entry: entries[0], Verified: true},
		"write-unknown": writeResult{Entry: entries[1]},
		"deleteall":     deleteResult{Deleted: entries[:2]},
		"delete-none":   deleteResult{},
		"imei":          valueResult{Value: "352656100367872"},
		"attoken-decoded": attokenResult{Value: "2dn3hQFQ.0oRDoQEm", FirmwareMatches: &match, Decoded: &cmng.AttestToken{MessageType: 1,
			DeviceUUID: "50503041-3633-4261-803d-1e2b8f70111a", DeviceType: 2, FirmwareUUID: "7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01", SignatureBytes: 64}},
		"generate-out":  generateResult{SecTag: 42, Out: "dev.csr"},
		"plan":          reportResult{report, true},
		"provision":     reportResult{report, false},
		"flash":         flashResult{Runner: "nrfjprog", Image: "app.hex", SHA256: hashA, Kind: "system"},
		"reset":         flashResult{Runner: "nrfjprog", Kind: "pin"},
		"flash-dry-run": flashResult{plan: jlink, DryRun: true},
		"workflow-plan": workflowPlanResult{DryRun: true, ATClient: flashResult{plan: nrfjprog}, Application: &appPlan},
		"multi": multiResult{ExitCode: 6, Boards: []boardOutcome{
			{Board: "000960000301", Report: &provision.Report{Device: report.Device, Results: report.Results[:1]}},
			{Board: "000960000302", ExitCode: 6, Error: "write 16842753 CLIENT_KEY: +CME ERROR: 528", Hints: []string{"switch the modem off"}},
		}},
		"transports": transportsResult{Transports: []transportRow{
			{Name: "serial", Source: plugin.SourceBuiltin, Path: "/usr/local/bin/nrfprov", Status: "builtin", Version: "v0.1.0", Capabilities: []plugin.Capability{"baud", "flow-control"}},
			{Name: "tcp", Path: "/usr/local/bin/nrfprov-transport-tcp", Status: "not-locked", Shadowed: []string{"/usr/bin/nrfprov-transport-tcp"}},
		}},
		"transports-lock": lockResult{LockFile: "/home/u/.config/nrfprov/transports.lock", Pinned: []pinnedTransport{{Name: "tcp", SHA256: hashA, Path: "/usr/local/bin/nrfprov-transport-tcp"}}},
		"version":         versionResult{Version: "v1.2.3", Commit: "0123abc", Protocol: 1, Go: "go1.26.8", OS: "linux", Arch: "arm64"},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			r.text(&b)
			path := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s: got\n%s\nwant\n%s", path, b.String(), want)
			}
		})
	}
}
