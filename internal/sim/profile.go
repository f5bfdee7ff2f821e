package sim

import (
	"fmt"
	"sort"
	"strings"
)

// Profile is the behaviour of one modem firmware family, as far as credential management and
// identification go. The numbers and switches come from modem-cmng-athost.md §1.11.
type Profile struct {
	// Name is the profile's key, e.g. "mfw_nrf9160_1.3.x".
	Name string
	// Revision is what AT+CGMR answers.
	Revision string
	// Model is what AT+CGMM answers.
	Model string
	// DeviceType is the device-type number carried in attestation tokens
	// (1 = nRF9160 SIAA, 4 = nRF9161 LACA).
	DeviceType int
	// BuildUUID is what AT%XMODEMUUID answers (the modem firmware build UUID).
	BuildUUID string
	// PlaceholderHashes makes %CMNG list and read report the type number repeated as a byte
	// (32 times, 64 hex characters) instead of the SHA-256 of the content (mfw 0.7.0-alpha).
	PlaceholderHashes bool
	// ValidatePEM makes writes of types 0 and 1 fail with +CME ERROR: 527 unless the content is
	// one or more well-formed PEM certificates (nRF91x1 mfw 2.x, field reports F2/F3).
	ValidatePEM bool
	// MaxType is the highest credential type the firmware knows; higher types answer ERROR.
	MaxType int
	// ModemOwned lists the credentials the modem itself keeps above the user sec_tag range,
	// in the order the modem lists them.
	ModemOwned []credKey
	// DecryptTags allows writes to the TLS-decrypt sec_tags 2147483648–2147483667 (mfw >= 2.0).
	DecryptTags bool
	// KeyGen enables %KEYGEN and %ATTESTTOKEN (mfw >= 1.3.0).
	KeyGen bool
	// PowerOffWarning enables the %XPOFWARN blocking rule (+CME ERROR: 528; mfw >= 1.3.2).
	PowerOffWarning bool
	// HangWritesOver, when > 0, makes a %CMNG write whose content is longer than this many bytes
	// hang inside the modem: no answer ever comes, and the entry is left in the store holding
	// only the first HangWritesOver bytes (the partial credential of the seed report, F1).
	// Inferred from the field report: short writes worked, 1.6–1.9 KB certificates hung.
	HangWritesOver int
	// ResponseLimit, when > 0, is the AT host response buffer of the firmware era that ships
	// with this profile (at_client's socket buffer in the seed report was about 1 KB); it
	// overrides the board's default (the line buffer size). Longer responses are cut and lose
	// their final result code.
	ResponseLimit int
	// ReadableTypes are the types %CMNG=2 may read; the others answer 514 (§1.9).
	ReadableTypes []int
}

// Credential tags the modem keeps for itself (modem-cmng-athost.md §1.2).
const (
	tagNordicBasePubKey uint32 = 4294967292
	tagNordicRootCA     uint32 = 4294967293
	tagDeviceIdentity   uint32 = 4294967294
	maxUserTag          uint64 = 2147483647
	firstDecryptTag     uint64 = 2147483648
	lastDecryptTag      uint64 = 2147483667
)

// modemOwnedV13 is the order Nordic's unit-test fixture lists the modem-owned entries in.
var modemOwnedV13 = []credKey{
	{Tag: tagNordicRootCA, Type: 10},
	{Tag: tagDeviceIdentity, Type: 6},
	{Tag: tagNordicBasePubKey, Type: 11},
}

var profiles = map[string]Profile{
	"mfw_nrf9160_0.7.0-29.alpha": {
		Name:              "mfw_nrf9160_0.7.0-29.alpha",
		Revision:          "mfw_nrf9160_0.7.0-29.alpha",
		Model:             "nRF9160-SICA",
		DeviceType:        1,
		BuildUUID:         "0a1b2c3d-0700-4029-a1fa-0000000007a0",
		PlaceholderHashes: true,
		MaxType:           5,
		HangWritesOver:    1024,
		ResponseLimit:     1024,
		ReadableTypes:     []int{0, 4, 5},
	},
	"mfw_nrf9160_1.3.x": {
		Name:            "mfw_nrf9160_1.3.x",
		Revision:        "mfw_nrf9160_1.3.5",
		Model:           "nRF9160-SICA",
		DeviceType:      1,
		BuildUUID:       "25c95751-efa4-40d4-8b4a-1dcaab81fac9",
		MaxType:         11,
		ModemOwned:      modemOwnedV13,
		KeyGen:          true,
		PowerOffWarning: true,
		ReadableTypes:   []int{0, 4, 5, 6, 11},
	},
	"mfw_nrf91x1_2.0.x": {
		Name:            "mfw_nrf91x1_2.0.x",
		Revision:        "mfw_nrf91x1_2.0.2",
		Model:           "nRF9161-LACA",
		DeviceType:      4,
		BuildUUID:       "7f1f7d3e-2002-4a1e-9d2c-910100000202",
		ValidatePEM:     true,
		MaxType:         11,
		ModemOwned:      modemOwnedV13,
		DecryptTags:     true,
		KeyGen:          true,
		PowerOffWarning: true,
		ReadableTypes:   []int{0, 4, 5, 6, 11},
	},
}

// DefaultProfile is the profile a board gets when none is named.
const DefaultProfile = "mfw_nrf9160_1.3.x"

// LookupProfile returns the named profile.
func LookupProfile(name string) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("sim: unknown profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
	}
	p.ReadableTypes = append([]int(nil), p.ReadableTypes...)
	p.ModemOwned = append([]credKey(nil), p.ModemOwned...)
	return p, nil
}

// ProfileNames lists the known profiles, sorted.
func ProfileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (p *Profile) readable(typ int) bool {
	for _, t := range p.ReadableTypes {
		if t == typ {
			return true
		}
	}
	return false
}

func (p *Profile) modemOwned(k credKey) bool {
	for _, o := range p.ModemOwned {
		if o == k {
			return true
		}
	}
	return false
}
