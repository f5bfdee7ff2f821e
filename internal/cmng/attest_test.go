package cmng

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// attestTokenFor builds a token the way the modem documents it: base64url of the CBOR message,
// a dot, base64url of a tag-18 COSE_Sign1 whose payload is detached (null).
func attestTokenFor(t *testing.T, msg []any, payload any, tag uint64) string {
	t.Helper()
	body, err := cbor.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	cose, err := cbor.Marshal(cbor.Tag{Number: tag, Content: []any{[]byte{0xa1, 0x01, 0x26}, map[int]any{4: []byte("identity_key")}, payload, bytes.Repeat([]byte{7}, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(body) + "." + enc(cose)
}

func TestParseAttestToken(t *testing.T) {
	dev := bytes.Repeat([]byte{0xab}, 16)
	fw := []byte{0x7c, 0x0f, 0x5a, 0x9e, 0x3d, 0x13, 0x4c, 0x1b, 0x93, 0x5b, 0x3c, 0x8a, 0x1e, 0x3b, 0x5e, 0x01}
	tok, err := ParseAttestToken(attestTokenFor(t, []any{1, dev, 2, fw}, nil, coseSign1Tag))
	if err != nil {
		t.Fatal(err)
	}
	if tok.MessageType != 1 || tok.DeviceUUID != "abababab-abab-abab-abab-abababababab" || tok.DeviceType != 2 ||
		tok.FirmwareUUID != "7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01" || tok.Challenge != "" || tok.SignatureBytes != 64 {
		t.Fatalf("decoded %+v", tok)
	}
	ch := bytes.Repeat([]byte{0x01, 0x23}, 8)
	tok, err = ParseAttestToken(attestTokenFor(t, []any{1, dev, 2, fw, ch}, nil, coseSign1Tag))
	if err != nil || tok.Challenge != strings.Repeat("0123", 8) {
		t.Fatalf("with a challenge: %+v %v", tok, err)
	}

	for name, s := range map[string]string{
		"no dot":             "abc",
		"not base64url":      "!!!.abc",
		"three fields":       attestTokenFor(t, []any{1, dev, 2}, nil, coseSign1Tag),
		"short device UUID":  attestTokenFor(t, []any{1, dev[:8], 2, fw}, nil, coseSign1Tag),
		"type not a number":  attestTokenFor(t, []any{"x", dev, 2, fw}, nil, coseSign1Tag),
		"short challenge":    attestTokenFor(t, []any{1, dev, 2, fw, ch[:4]}, nil, coseSign1Tag),
		"attached payload":   attestTokenFor(t, []any{1, dev, 2, fw}, []byte("msg"), coseSign1Tag),
		"not COSE_Sign1":     attestTokenFor(t, []any{1, dev, 2, fw}, nil, 17),
		"COSE part not cbor": attestTokenFor(t, []any{1, dev, 2, fw}, nil, coseSign1Tag)[:10] + ".AAAA",
		"COSE part missing":  strings.SplitN(attestTokenFor(t, []any{1, dev, 2, fw}, nil, coseSign1Tag), ".", 2)[0] + ".",
	} {
		if _, err := ParseAttestToken(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestAttestTokenFirmwareMatches(t *testing.T) {
	tok := &AttestToken{FirmwareUUID: "7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01"}
	for uuid, want := range map[string]bool{
		"7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01":   true,
		"7C0F5A9E-3D13-4C1B-935B-3C8A1E3B5E01":   true, // %XMODEMUUID's case is not the token's
		" 7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e01 ": true,
		"7c0f5a9e-3d13-4c1b-935b-3c8a1e3b5e02":   false,
		"":                                       false, // old firmware answers no UUID: nothing matches
	} {
		if got := tok.FirmwareMatches(uuid); got != want {
			t.Errorf("FirmwareMatches(%q) = %v, want %v", uuid, got, want)
		}
	}
}
