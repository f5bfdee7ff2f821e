package cmng

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// CSR is a certificate signing request the modem made for a key it generated and keeps.
type CSR struct {
	DER        []byte // PKCS#10, as the modem sent it
	PEM        []byte // the same, PEM-encoded ("CERTIFICATE REQUEST")
	DeviceUUID string // from the COSE payload, lowercase 8-4-4-4-12
	SecTag     uint32 // from the COSE payload
	// DigestOK: the COSE_Sign1 payload carries the SHA-256 of DER.
	DigestOK bool
}

// cbor tag of a COSE_Sign1 structure (RFC 8152).
const coseSign1Tag = 18

// keygenPayloadCSR is the payload id of a CSR message in the %KEYGEN COSE payload.
const keygenPayloadCSR = 9

// ParseKeyGen decodes the %KEYGEN answer "<base64url CSR DER>.<base64url COSE_Sign1>" (the text
// between the quotes): it parses the CSR and checks its self-signature, decodes the COSE_Sign1
// payload [payload id, device UUID, cbor(sec_tag), SHA-256 of the body, nonce], and compares
// that digest with the SHA-256 of the CSR. A mismatch, or a missing COSE part, is a
// *VerifyError returned with the decoded CSR (DigestOK false). The COSE signature itself (by the
// device identity key) is not checked.
func ParseKeyGen(blob string) (*CSR, error) {
	body, cose, _ := strings.Cut(strings.TrimSpace(blob), ".")
	der, err := decodeB64URL(body)
	if err != nil || len(der) == 0 {
		return nil, fmt.Errorf("%w: %%KEYGEN body is not base64url", ErrMalformed)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %%KEYGEN body is not a CSR: %v", ErrMalformed, err)
	}
	csr := &CSR{DER: der, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}
	op := "keygen"
	if err := req.CheckSignature(); err != nil {
		return csr, &VerifyError{Op: op, Reason: fmt.Sprintf("the CSR's signature does not verify: %v", err)}
	}
	if cose == "" {
		return csr, &VerifyError{Op: op, Reason: "the modem sent no COSE_Sign1 to check the CSR against"}
	}
	raw, err := decodeB64URL(cose)
	if err != nil {
		return csr, fmt.Errorf("%w: %%KEYGEN COSE part is not base64url", ErrMalformed)
	}
	p, err := decodeKeygenPayload(raw)
	if err != nil {
		return csr, err
	}
	csr.DeviceUUID, csr.SecTag = p.uuid, p.secTag
	sum := sha256.Sum256(der)
	if !bytes.Equal(sum[:], p.digest) {
		return csr, &VerifyError{Op: op, SecTag: p.secTag, Type: ClientKey,
			Want: strings.ToUpper(hex.EncodeToString(sum[:])), Got: strings.ToUpper(hex.EncodeToString(p.digest)),
			Reason: "the digest in the COSE_Sign1 payload is not the SHA-256 of the CSR"}
	}
	csr.DigestOK = true
	return csr, nil
}

func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

type keygenPayload struct {
	id     int64
	uuid   string
	secTag uint32
	digest []byte
}

// coseSign1 is [protected, unprotected, payload, signature].
type coseSign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// decodeCOSESign1 decodes a COSE_Sign1, tagged (18) or bare.
func decodeCOSESign1(raw []byte) (coseSign1, error) {
	var s coseSign1
	var tag cbor.RawTag
	content := raw
	if err := cbor.Unmarshal(raw, &tag); err == nil {
		if tag.Number != coseSign1Tag {
			return s, fmt.Errorf("CBOR tag %d, want %d (COSE_Sign1)", tag.Number, coseSign1Tag)
		}
		content = tag.Content
	}
	if err := cbor.Unmarshal(content, &s); err != nil {
		return s, err
	}
	return s, nil
}

func decodeKeygenPayload(raw []byte) (keygenPayload, error) {
	bad := func(why string, args ...any) (keygenPayload, error) {
		return keygenPayload{}, fmt.Errorf("%w: %%KEYGEN COSE_Sign1: %s", ErrMalformed, fmt.Sprintf(why, args...))
	}
	s, err := decodeCOSESign1(raw)
	if err != nil {
		return bad("%v", err)
	}
	if len(s.Payload) == 0 {
		return bad("no payload")
	}
	var fields []cbor.RawMessage
	if err := cbor.Unmarshal(s.Payload, &fields); err != nil || len(fields) < 4 {
		return bad("payload is not [id, uuid, sec_tag, digest, …]")
	}
	var p keygenPayload
	var uuid []byte
	if cbor.Unmarshal(fields[0], &p.id) != nil {
		return bad("payload id is not an integer")
	}
	if p.id != keygenPayloadCSR {
		return bad("payload id %d, want %d (CSR message)", p.id, keygenPayloadCSR)
	}
	if cbor.Unmarshal(fields[1], &uuid) != nil || len(uuid) != 16 {
		return bad("device UUID is not 16 bytes")
	}
	p.uuid = formatUUID(uuid)
	// The sec_tag is a CBOR-encoded integer inside a byte string (nrfcloud-utils decodes it
	// twice); a negative value is the two's complement of a tag above 2147483647.
	tagField := fields[2]
	var inner []byte
	if cbor.Unmarshal(fields[2], &inner) == nil {
		tagField = inner
	}
	var st int64
	if cbor.Unmarshal(tagField, &st) != nil || st < -(1<<31) || st > 1<<32-1 {
		return bad("sec_tag is not an integer")
	}
	p.secTag = uint32(st)
	if cbor.Unmarshal(fields[3], &p.digest) != nil || len(p.digest) != sha256.Size {
		return bad("digest is not %d bytes", sha256.Size)
	}
	return p, nil
}

func formatUUID(u []byte) string {
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
