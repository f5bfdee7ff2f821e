package sim

// Signed blobs returned by AT%KEYGEN and AT%ATTESTTOKEN.
//
// Both commands answer with "<Base64Url(body)>.<Base64Url(COSE_Sign1)>"
// (RFC 8152 COSE_Sign1, ES256, signed with the modem's device-identity key),
// in the layout decoded by Nordic's nrfcloud-utils modem_credentials_parser.py.
// Everything here is pure: no I/O besides the supplied random source.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// COSE and message constants used by the modem's signed outputs.
const (
	coseTagSign1    = 18 // CBOR tag for COSE_Sign1
	coseHeaderAlg   = 1  // protected header label: alg
	coseHeaderKID   = 4  // unprotected header label: kid
	coseAlgES256    = -7 // ECDSA w/ SHA-256
	coseKIDIdentity = -2 // kid value naming the device identity key

	keygenPayloadPubKey = 8 // pubkey_msg_v2
	keygenPayloadCSR    = 9 // CSR_msg_v1

	keygenContentCSR    = 0 // AT%KEYGEN response_content: PKCS#10 CSR
	keygenContentPubKey = 1 // AT%KEYGEN response_content: public key

	attestMsgDeviceIdentityV1 = 1 // AT%ATTESTTOKEN body message type

	attestDevTypeNRF9160SIAA = 1 // device type: nRF9160 SIAA
	attestDevTypeNRF9161LACA = 4 // device type: nRF9161 LACA
	attestDevTypeNRF9151LACA = 6 // device type: nRF9151 LACA

	keygenNonceLen     = 16 // random nonce in the KEYGEN COSE payload
	attestChallengeLen = 16 // optional AT%ATTESTTOKEN challenge
)

// errBadAttributes is wrapped by every error from parseSubjectAttributes
// (and so by makeKeygen for a malformed attributes string), letting the
// AT layer answer a syntax ERROR rather than a key-generation failure.
var errBadAttributes = errors.New("sim: keygen attributes")

// keygenCBOR is the deterministic (RFC 8949 core) CBOR encoder used for all
// signed structures. Nil byte slices encode as empty byte strings, so an
// empty external_aad is an empty byte string, not null.
var keygenCBOR = func() cbor.EncMode {
	opts := cbor.CoreDetEncOptions()
	opts.NilContainers = cbor.NilContainerAsEmpty
	em, err := opts.EncMode()
	if err != nil {
		panic("sim: cbor encoder: " + err.Error())
	}
	return em
}()

// keygenResult is a signed modem output: the command-specific body and the
// COSE_Sign1 structure that authenticates it.
type keygenResult struct {
	Body []byte // CSR DER, SubjectPublicKeyInfo DER, or attestation CBOR
	COSE []byte // CBOR-encoded, tag 18 COSE_Sign1
}

// String renders the result as the modem prints it inside the quotes of the
// %KEYGEN / %ATTESTTOKEN response: unpadded base64url of the body, a dot, and
// unpadded base64url of the COSE_Sign1.
func (r keygenResult) String() string {
	return base64.RawURLEncoding.EncodeToString(r.Body) + "." +
		base64.RawURLEncoding.EncodeToString(r.COSE)
}

// makeKeygen builds the AT%KEYGEN answer for a freshly generated P-256 key.
// responseContent 0 yields a PKCS#10 CSR (DER) signed by key, with the subject
// taken from attributes (see parseSubjectAttributes) or, when attributes is
// empty, CN set to the lowercase 8-4-4-4-12 device UUID; responseContent 1
// yields the DER SubjectPublicKeyInfo of key. The COSE_Sign1 payload is
// [payload id, devUUID, cbor(secTag), sha256(body), nonce], signed with
// identity. rnd (crypto/rand when nil) supplies the 16-byte nonce, read first,
// and is passed to the CSR and ECDSA signers (which, since Go 1.26, use
// system randomness regardless).
func makeKeygen(rnd io.Reader, identity *ecdsa.PrivateKey, devUUID [16]byte, secTag uint32, key *ecdsa.PrivateKey, responseContent int, attributes string) (keygenResult, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if err := keygenCheckP256("identity key", identity); err != nil {
		return keygenResult{}, err
	}
	if err := keygenCheckP256("generated key", key); err != nil {
		return keygenResult{}, err
	}

	var (
		subject   pkix.Name
		payloadID int
	)
	switch responseContent {
	case keygenContentCSR:
		var err error
		if subject, err = parseSubjectAttributes(attributes); err != nil {
			return keygenResult{}, err
		}
		if strings.TrimSpace(attributes) == "" {
			subject.CommonName = keygenUUIDString(devUUID)
		}
		payloadID = keygenPayloadCSR
	case keygenContentPubKey:
		payloadID = keygenPayloadPubKey
	default:
		return keygenResult{}, fmt.Errorf("sim: keygen: unsupported response_content %d", responseContent)
	}

	// The nonce is read before anything else touches rnd.
	nonce, err := keygenReadNonce(rnd)
	if err != nil {
		return keygenResult{}, err
	}

	var body []byte
	if payloadID == keygenPayloadCSR {
		body, err = x509.CreateCertificateRequest(rnd, &x509.CertificateRequest{
			Subject:            subject,
			SignatureAlgorithm: x509.ECDSAWithSHA256,
		}, key)
		if err != nil {
			return keygenResult{}, fmt.Errorf("sim: keygen: create CSR: %w", err)
		}
	} else {
		body, err = x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return keygenResult{}, fmt.Errorf("sim: keygen: marshal public key: %w", err)
		}
	}

	secTagCBOR, err := keygenCBOR.Marshal(uint64(secTag))
	if err != nil {
		return keygenResult{}, fmt.Errorf("sim: keygen: encode sec_tag: %w", err)
	}
	digest := sha256.Sum256(body)
	payload, err := keygenCBOR.Marshal([]any{
		payloadID,
		devUUID[:],
		secTagCBOR,
		digest[:],
		nonce,
	})
	if err != nil {
		return keygenResult{}, fmt.Errorf("sim: keygen: encode payload: %w", err)
	}
	cose, err := coseSign1(rnd, identity, payload, false)
	if err != nil {
		return keygenResult{}, err
	}
	return keygenResult{Body: body, COSE: cose}, nil
}

// makeAttestToken builds the AT%ATTESTTOKEN answer: body is the CBOR array
// [1, devUUID, devType, fwUUID] (plus challenge as a fifth element when it is
// non-empty; it must then be 16 bytes), and the COSE_Sign1 carries a detached
// (null) payload whose signature covers the body bytes. rnd (crypto/rand when
// nil) is handed to the ECDSA signer, which since Go 1.26 ignores it.
func makeAttestToken(rnd io.Reader, identity *ecdsa.PrivateKey, devUUID, fwUUID [16]byte, devType int, challenge []byte) (keygenResult, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if err := keygenCheckP256("identity key", identity); err != nil {
		return keygenResult{}, err
	}
	if devType <= 0 {
		return keygenResult{}, fmt.Errorf("sim: attesttoken: invalid device type %d", devType)
	}
	fields := []any{attestMsgDeviceIdentityV1, devUUID[:], devType, fwUUID[:]}
	if len(challenge) > 0 {
		if len(challenge) != attestChallengeLen {
			return keygenResult{}, fmt.Errorf("sim: attesttoken: challenge must be %d bytes, got %d", attestChallengeLen, len(challenge))
		}
		fields = append(fields, challenge)
	}
	body, err := keygenCBOR.Marshal(fields)
	if err != nil {
		return keygenResult{}, fmt.Errorf("sim: attesttoken: encode body: %w", err)
	}
	cose, err := coseSign1(rnd, identity, body, true)
	if err != nil {
		return keygenResult{}, err
	}
	return keygenResult{Body: body, COSE: cose}, nil
}

// coseSign1 returns the tag-18 COSE_Sign1 over payload, signed ES256 with
// identity and carrying kid = identity_key. When detached is true the
// payload slot holds CBOR null while the signature still covers payload.
func coseSign1(rnd io.Reader, identity *ecdsa.PrivateKey, payload []byte, detached bool) ([]byte, error) {
	protected, err := keygenCBOR.Marshal(map[int]int{coseHeaderAlg: coseAlgES256})
	if err != nil {
		return nil, fmt.Errorf("sim: cose: encode protected header: %w", err)
	}
	kid, err := keygenCBOR.Marshal(coseKIDIdentity)
	if err != nil {
		return nil, fmt.Errorf("sim: cose: encode kid: %w", err)
	}
	toSign, err := coseSigStructure(protected, payload)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(toSign)
	r, s, err := ecdsa.Sign(rnd, identity, digest[:])
	if err != nil {
		return nil, fmt.Errorf("sim: cose: sign: %w", err)
	}
	sig := coseES256Signature(r, s)

	var payloadField any = payload
	if detached {
		payloadField = nil // encodes as CBOR null
	}
	out, err := keygenCBOR.Marshal(cbor.Tag{
		Number: coseTagSign1,
		Content: []any{
			protected,
			map[int][]byte{coseHeaderKID: kid},
			payloadField,
			sig,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("sim: cose: encode: %w", err)
	}
	return out, nil
}

// coseES256Signature encodes an ECDSA P-256 signature as COSE wants it:
// r and s, each left-padded to 32 bytes, concatenated (64 bytes).
func coseES256Signature(r, s *big.Int) []byte {
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// coseSigStructure encodes the RFC 8152 Sig_structure for COSE_Sign1:
// ["Signature1", protected, external_aad = empty bstr, payload].
func coseSigStructure(protected, payload []byte) ([]byte, error) {
	b, err := keygenCBOR.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		return nil, fmt.Errorf("sim: cose: encode Sig_structure: %w", err)
	}
	return b, nil
}

// parseSubjectAttributes parses the AT%KEYGEN attributes string, a
// comma-separated list of KEY=value pairs such as
// "O=Nordic,L=Trondheim,C=no,CN=my-device", into a certificate subject.
// Keys (C, ST, L, O, OU, CN) are case-insensitive; surrounding spaces are
// ignored; values must be non-empty; CN may appear at most once. An empty
// string yields an empty name. Errors wrap errBadAttributes.
func parseSubjectAttributes(s string) (pkix.Name, error) {
	var name pkix.Name
	if strings.TrimSpace(s) == "" {
		return name, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return pkix.Name{}, fmt.Errorf("%w: %q is not KEY=value", errBadAttributes, part)
		}
		if v == "" {
			return pkix.Name{}, fmt.Errorf("%w: empty value for %s", errBadAttributes, k)
		}
		switch strings.ToUpper(k) {
		case "C":
			name.Country = append(name.Country, v)
		case "ST":
			name.Province = append(name.Province, v)
		case "L":
			name.Locality = append(name.Locality, v)
		case "O":
			name.Organization = append(name.Organization, v)
		case "OU":
			name.OrganizationalUnit = append(name.OrganizationalUnit, v)
		case "CN":
			if name.CommonName != "" {
				return pkix.Name{}, fmt.Errorf("%w: CN given more than once", errBadAttributes)
			}
			name.CommonName = v
		default:
			return pkix.Name{}, fmt.Errorf("%w: unsupported attribute %q", errBadAttributes, k)
		}
	}
	return name, nil
}

// keygenUUIDString formats a device UUID as lowercase 8-4-4-4-12 hex.
func keygenUUIDString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// keygenReadNonce reads the 16-byte KEYGEN nonce from rnd.
func keygenReadNonce(rnd io.Reader) ([]byte, error) {
	nonce := make([]byte, keygenNonceLen)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("sim: keygen: read nonce: %w", err)
	}
	return nonce, nil
}

// keygenCheckP256 reports an error unless k is a non-nil P-256 private key.
func keygenCheckP256(what string, k *ecdsa.PrivateKey) error {
	if k == nil {
		return fmt.Errorf("sim: %s is nil", what)
	}
	if k.Curve != elliptic.P256() {
		return fmt.Errorf("sim: %s is not P-256", what)
	}
	return nil
}
