package cmng

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// AttestToken is a decoded %ATTESTTOKEN answer: the attestation message the modem signed with
// its device identity key. The signature is not checked here: only nRF Cloud (or whoever
// holds the device's identity public key) can.
type AttestToken struct {
	MessageType  int64  `json:"message_type"`
	DeviceUUID   string `json:"device_uuid"`   // the device's identity, as in %KEYGEN's COSE payload
	DeviceType   int64  `json:"device_type"`   // Nordic's device type number
	FirmwareUUID string `json:"firmware_uuid"` // the modem firmware build, as %XMODEMUUID says
	Challenge    string `json:"challenge,omitempty"`
	// SignatureBytes is the length of the COSE_Sign1 signature (64 for ES256).
	SignatureBytes int `json:"signature_bytes"`
}

// ParseAttestToken decodes "<base64url message>.<base64url COSE_Sign1>": the message is the CBOR
// array [message type, device UUID, device type, firmware UUID(, challenge)], and the COSE_Sign1
// carries a detached payload (CBOR null) and a signature over the message.
func ParseAttestToken(tok string) (*AttestToken, error) {
	bad := func(why string, args ...any) (*AttestToken, error) {
		return nil, fmt.Errorf("%w: %%ATTESTTOKEN: %s", ErrMalformed, fmt.Sprintf(why, args...))
	}
	body, cose, ok := strings.Cut(strings.TrimSpace(tok), ".")
	if !ok {
		return bad("want <base64url message>.<base64url COSE_Sign1>")
	}
	msg, err := decodeB64URL(body)
	if err != nil || len(msg) == 0 {
		return bad("the message is not base64url")
	}
	var fields []cbor.RawMessage
	if err := cbor.Unmarshal(msg, &fields); err != nil || (len(fields) != 4 && len(fields) != 5) {
		return bad("the message is not [type, device UUID, device type, firmware UUID(, challenge)]")
	}
	var t AttestToken
	var dev, fw []byte
	switch {
	case cbor.Unmarshal(fields[0], &t.MessageType) != nil:
		return bad("the message type is not an integer")
	case cbor.Unmarshal(fields[1], &dev) != nil || len(dev) != 16:
		return bad("the device UUID is not 16 bytes")
	case cbor.Unmarshal(fields[2], &t.DeviceType) != nil:
		return bad("the device type is not an integer")
	case cbor.Unmarshal(fields[3], &fw) != nil || len(fw) != 16:
		return bad("the firmware UUID is not 16 bytes")
	}
	t.DeviceUUID, t.FirmwareUUID = formatUUID(dev), formatUUID(fw)
	if len(fields) == 5 {
		var c []byte
		if cbor.Unmarshal(fields[4], &c) != nil || len(c) != 16 {
			return bad("the challenge is not 16 bytes")
		}
		t.Challenge = strings.ToUpper(hex.EncodeToString(c))
	}
	raw, err := decodeB64URL(cose)
	if err != nil || len(raw) == 0 {
		return bad("the COSE_Sign1 part is not base64url")
	}
	s, err := decodeCOSESign1(raw)
	if err != nil {
		return bad("COSE_Sign1: %v", err)
	}
	if len(s.Payload) != 0 {
		return bad("COSE_Sign1 carries a payload; the token's is detached (the message)")
	}
	if len(s.Signature) == 0 {
		return bad("COSE_Sign1 has no signature")
	}
	t.SignatureBytes = len(s.Signature)
	return &t, nil
}

// FirmwareMatches reports whether the token was made by the modem firmware modemUUID names
// (what %XMODEMUUID reports); UUIDs compare without regard to case.
func (t *AttestToken) FirmwareMatches(modemUUID string) bool {
	return modemUUID != "" && strings.EqualFold(strings.TrimSpace(modemUUID), t.FirmwareUUID)
}

// CheckedAttestToken asks for the attestation token, decodes it and checks its firmware UUID
// against the modem's %XMODEMUUID: the token, its decoding, and whether the UUIDs match.
func (c *Store) CheckedAttestToken(ctx context.Context) (string, *AttestToken, bool, error) {
	tok, err := c.AttestToken(ctx)
	if err != nil {
		return "", nil, false, err
	}
	dec, err := ParseAttestToken(tok)
	if err != nil {
		return tok, nil, false, err
	}
	fw, err := c.ModemUUID(ctx)
	if err != nil {
		return tok, dec, false, err
	}
	return tok, dec, dec.FirmwareMatches(fw), nil
}
