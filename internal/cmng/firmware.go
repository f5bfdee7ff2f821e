package cmng

import (
	"fmt"
	"strconv"
	"strings"
)

// FirmwareVersion is the modem firmware as AT+CGMR names it, e.g. "mfw_nrf9160_1.3.0-FOTA-TEST":
// <prefix>_<family>_<major>.<minor>.<patch>[<suffix>] (§1.12).
type FirmwareVersion struct {
	Raw    string `json:"raw"`
	Prefix string `json:"prefix"` // "mfw", "mfw-pti"
	Family string `json:"family"` // "nrf9160", "nrf91x1", "nrf9151-ntn"
	Major  int    `json:"major"`
	Minor  int    `json:"minor"`
	Patch  int    `json:"patch"`
	Suffix string `json:"suffix,omitempty"` // "-FOTA-TEST", "-1.alpha", "-29.alpha"
}

// ParseFirmwareVersion parses an AT+CGMR answer line.
func ParseFirmwareVersion(s string) (FirmwareVersion, error) {
	raw := strings.TrimSpace(s)
	bad := func(why string) (FirmwareVersion, error) {
		return FirmwareVersion{}, fmt.Errorf("%w: modem firmware version %q: %s", ErrMalformed, raw, why)
	}
	i := strings.Index(raw, "_")
	j := strings.LastIndex(raw, "_")
	if i <= 0 || j <= i+1 {
		return bad("want <prefix>_<family>_<x.y.z>")
	}
	v := FirmwareVersion{Raw: raw, Prefix: raw[:i], Family: strings.ToLower(raw[i+1 : j])}
	if !strings.HasPrefix(strings.ToLower(v.Prefix), "mfw") {
		return bad("not a modem firmware name (no mfw prefix)")
	}
	ver := raw[j+1:]
	if k := strings.IndexAny(ver, "-+ "); k >= 0 {
		v.Suffix = ver[k:]
		ver = ver[:k]
	}
	parts := strings.Split(ver, ".")
	if len(parts) != 3 {
		return bad("version is not x.y.z")
	}
	nums := make([]int, 3)
	for k, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || !allDigits(p) {
			return bad("version is not x.y.z")
		}
		nums[k] = n
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return v, nil
}

// Semver is "x.y.z".
func (v FirmwareVersion) Semver() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

func (v FirmwareVersion) String() string { return v.Raw }

// AtLeast compares the x.y.z part.
func (v FirmwareVersion) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

// NTN reports a non-terrestrial-network firmware (its own version line, treated as modern).
func (v FirmwareVersion) NTN() bool { return strings.Contains(v.Family, "ntn") }

// RealHashes reports whether the SHA-256 values %CMNG lists can be trusted to be the hash of
// the stored content: from mfw 1.3.2 on (nrfcloud-utils' gate), on 2.x and on NTN firmware.
// 0.x lists placeholders; 1.0–1.3.1 list values nobody has shown to be content hashes (§1.7).
func (v FirmwareVersion) RealHashes() bool {
	return v.NTN() || v.AtLeast(1, 3, 2)
}

// KeyGen reports whether the firmware has %KEYGEN and %ATTESTTOKEN (mfw >= 1.3.0, §1.11).
func (v FirmwareVersion) KeyGen() bool { return v.NTN() || v.AtLeast(1, 3, 0) }

// ValidatesPEM reports whether the firmware checks certificates written as types 0 and 1
// (+CME ERROR: 527): nRF91x1 mfw 2.x and NTN firmware (field reports, §1.4).
func (v FirmwareVersion) ValidatesPEM() bool { return v.NTN() || v.Major >= 2 }

// WriteHangsOver is the longest credential, in bytes, that a %CMNG write on this firmware is
// known to survive; longer writes hang the modem and leave part of the credential behind (0: no
// known limit). mfw 0.7.0 (the field report F1): short writes work, 1.6–1.9 KB certificates hang
// every time; the limit is taken as 1 KB (inferred: the report gives no exact size).
func (v FirmwareVersion) WriteHangsOver() int {
	if v.Major == 0 {
		return 1024
	}
	return 0
}

// CheckFirmwareLimit refuses, before sending, a write this firmware is known to hang on
// (WriteHangsOver, or limit when it is above 0: the limit is inferred, so the user may set
// another), naming the firmware and the fix. The error is a *PreflightError.
func CheckFirmwareLimit(v FirmwareVersion, limit int, tag uint32, typ Type, content []byte) error {
	if limit <= 0 {
		limit = v.WriteHangsOver()
	}
	if limit == 0 || len(content) <= limit {
		return nil
	}
	return &PreflightError{SecTag: uint64(tag), Type: typ,
		Reason: fmt.Sprintf("%d bytes: modem firmware %s hangs on %%CMNG writes over about %d bytes, and leaves part of the credential behind", len(content), v.Raw, limit),
		Fix:    "update the modem firmware (mfw 1.3.x or later, with nrfutil or nrfjprog); nrfprov does not send this credential to it (--write-limit BYTES sets another limit)"}
}
