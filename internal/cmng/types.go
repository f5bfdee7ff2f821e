// Package cmng manages the credentials an nRF91 modem keeps for TLS (AT%CMNG), and the modem
// facts a provisioning tool needs beside them: %KEYGEN certificate requests, the attestation
// token, IMEI, modem UUID, firmware version and functional mode.
//
// It is nrfprov's own reading of ../shared/docs/modem-cmng-athost.md (cited as §n): the types,
// sec_tag ranges, list and read-back formats, placeholder hashes, CME codes and line limits are
// implemented here from that document, independently of the virtual board in internal/sim.
//
// The parsers (ParseType, ParseList, ParseRead, ParseFirmwareVersion, ParseKeyGen) and Preflight
// are pure functions over strings and bytes. Store runs them over an *at.Session.
package cmng

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a %CMNG credential type (§1.3).
type Type int

// The credential types. Only 0–4 can be written with %CMNG; 5 is delete-only on mfw 1.0–1.2,
// 6 and 10–11 are the modem's own, 8 is made by %KEYGEN, 9 by the claim-token flow.
const (
	RootCACert     Type = 0
	ClientCert     Type = 1
	ClientKey      Type = 2
	PSK            Type = 3
	PSKID          Type = 4
	PubKey         Type = 5
	DevIDPubKey    Type = 6
	Reserved7      Type = 7
	EndorsementKey Type = 8
	OwnershipKey   Type = 9
	NordicIDRootCA Type = 10
	NordicPubKey   Type = 11

	// MaxType is the highest type number nrfprov accepts as input; 12 is listed by nothing
	// the spec could read (§1.3) and is shown as TYPE_12.
	MaxType Type = 12
)

// Sec_tag ranges (§1.2).
const (
	// MaxUserTag is the highest sec_tag in the user range; everything above is reserved for
	// the modem.
	MaxUserTag uint32 = 2147483647
)

var typeNames = map[Type]string{
	RootCACert:     "ROOT_CA_CERT",
	ClientCert:     "CLIENT_CERT",
	ClientKey:      "CLIENT_KEY",
	PSK:            "PSK",
	PSKID:          "PSK_ID",
	PubKey:         "PUB_KEY",
	DevIDPubKey:    "DEV_ID_PUB_KEY",
	EndorsementKey: "ENDORSEMENT_KEY",
	OwnershipKey:   "OWNERSHIP_KEY",
	NordicIDRootCA: "NORDIC_ID_ROOT_CA",
	NordicPubKey:   "NORDIC_PUB_KEY",
}

// TypeNames lists the type names in type order.
func TypeNames() []string {
	var names []string
	for t := Type(0); t <= MaxType; t++ {
		if n, ok := typeNames[t]; ok {
			names = append(names, n)
		}
	}
	return names
}

// String returns the type's name, or TYPE_<n> for a type without one (7, 12, out of range).
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "TYPE_" + strconv.Itoa(int(t))
}

// ParseType reads a type given as a number 0–12, a name (case-insensitive), or TYPE_<n>.
func ParseType(s string) (Type, error) {
	in := strings.TrimSpace(s)
	u := strings.ToUpper(in)
	num := u
	if rest, ok := strings.CutPrefix(u, "TYPE_"); ok {
		num = rest
	}
	if n, err := strconv.Atoi(num); err == nil && num != "" && num[0] != '+' && num[0] != '-' {
		if n < 0 || n > int(MaxType) {
			return 0, fmt.Errorf("cmng: credential type %q: out of range 0–%d", s, MaxType)
		}
		return Type(n), nil
	}
	for t, name := range typeNames {
		if name == u {
			return t, nil
		}
	}
	return 0, fmt.Errorf("cmng: unknown credential type %q: want a number 0–%d or one of %s",
		s, MaxType, strings.Join(TypeNames(), ", "))
}

// Known reports whether t is a type number nrfprov knows (0–12).
func (t Type) Known() bool { return t >= 0 && t <= MaxType }

// Readable reports whether %CMNG=2 can read the type back: root CA certificates and PSK
// identities (§1.9; 5 and 6 are only "probably" readable and are not relied on).
func (t Type) Readable() bool { return t == RootCACert || t == PSKID }

// Secret reports whether the type's content is secret: private keys, PSKs, the endorsement and
// ownership keys. Their content is never shown, logged or put in an error, only its SHA-256.
func (t Type) Secret() bool {
	return t == ClientKey || t == PSK || t == EndorsementKey || t == OwnershipKey
}

// Writable reports whether %CMNG=0 writes the type (0–4). The others belong to the modem or to
// other commands (%XPMNG, %KEYGEN).
func (t Type) Writable() bool { return t >= RootCACert && t <= PSKID }
