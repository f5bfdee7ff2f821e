package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// kgDevUUID is the device UUID used throughout; kgDevUUIDString is its
// expected text form, written out by hand rather than computed.
var (
	kgDevUUID       = [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77}
	kgDevUUIDString = "01234567-89ab-cdef-0011-223344556677"
	kgFwUUID        = [16]byte{0x25, 0xc9, 0x57, 0x51, 0xef, 0xa4, 0x40, 0xd4, 0x8b, 0x4a, 0x1d, 0xca, 0xab, 0x81, 0xfa, 0xc9}
)

// kgCountingReader is a deterministic random source yielding 0x80, 0x81, ...
type kgCountingReader struct{ n byte }

func (r *kgCountingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x80 + r.n
		r.n++
	}
	return len(p), nil
}

// kgFirstBytes is what a fresh kgCountingReader yields first.
func kgFirstBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = (&kgCountingReader{}).Read(b)
	return b
}

type kgErrReader struct{}

func (kgErrReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func kgKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// kgToken is a verified, decoded "<body>.<cose>" string.
type kgToken struct {
	body    []byte
	payload []byte // COSE payload; nil when detached
}

// kgKeygenPayload is the decoded COSE payload of a %KEYGEN answer.
type kgKeygenPayload struct {
	id     int
	uuid   []byte
	secTag uint64
	digest []byte
	nonce  []byte
}

// kgBstr encodes b as a definite-length CBOR byte string, by hand, so the
// Sig_structure used for verification does not come from the code under test.
func kgBstr(b []byte) []byte {
	n := len(b)
	var hdr []byte
	switch {
	case n < 24:
		hdr = []byte{0x40 | byte(n)}
	case n < 0x100:
		hdr = []byte{0x58, byte(n)}
	case n < 0x10000:
		hdr = []byte{0x59, byte(n >> 8), byte(n)}
	default:
		hdr = binary.BigEndian.AppendUint32([]byte{0x5a}, uint32(n))
	}
	return append(hdr, b...)
}

// kgVerify splits s, decodes the COSE_Sign1, checks its headers and the ES256
// signature over the Sig_structure (using the body when the payload is
// detached), and returns the parts. Any deviation is an error.
func kgVerify(pub *ecdsa.PublicKey, s string) (kgToken, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return kgToken{}, fmt.Errorf("want 2 dot-separated parts, got %d", len(parts))
	}
	if strings.ContainsAny(s, "=+/") {
		return kgToken{}, fmt.Errorf("not unpadded base64url: %q", s)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return kgToken{}, fmt.Errorf("body: %w", err)
	}
	coseBytes, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return kgToken{}, fmt.Errorf("cose: %w", err)
	}

	var tag cbor.RawTag
	if err := cbor.Unmarshal(coseBytes, &tag); err != nil {
		return kgToken{}, fmt.Errorf("cose tag: %w", err)
	}
	if tag.Number != 18 {
		return kgToken{}, fmt.Errorf("cose tag %d, want 18", tag.Number)
	}
	var arr []cbor.RawMessage
	if err := cbor.Unmarshal(tag.Content, &arr); err != nil {
		return kgToken{}, fmt.Errorf("cose array: %w", err)
	}
	if len(arr) != 4 {
		return kgToken{}, fmt.Errorf("cose array has %d elements", len(arr))
	}

	var protected []byte
	if err := cbor.Unmarshal(arr[0], &protected); err != nil {
		return kgToken{}, fmt.Errorf("protected: %w", err)
	}
	var phdr map[int]int
	if err := cbor.Unmarshal(protected, &phdr); err != nil {
		return kgToken{}, fmt.Errorf("protected map: %w", err)
	}
	if !reflect.DeepEqual(phdr, map[int]int{1: -7}) {
		return kgToken{}, fmt.Errorf("protected header %v, want {1:-7}", phdr)
	}
	if !bytes.Equal(protected, []byte{0xa1, 0x01, 0x26}) {
		return kgToken{}, fmt.Errorf("protected header bytes %x, want a10126", protected)
	}

	var unprot map[int][]byte
	if err := cbor.Unmarshal(arr[1], &unprot); err != nil {
		return kgToken{}, fmt.Errorf("unprotected: %w", err)
	}
	if len(unprot) != 1 {
		return kgToken{}, fmt.Errorf("unprotected header %v, want only kid", unprot)
	}
	var kid int
	if err := cbor.Unmarshal(unprot[4], &kid); err != nil || kid != -2 {
		return kgToken{}, fmt.Errorf("kid = %d (%v), want -2", kid, err)
	}

	var tok kgToken
	tok.body = body
	signed := body
	if !bytes.Equal(arr[2], []byte{0xf6}) { // not null: attached payload
		if err := cbor.Unmarshal(arr[2], &tok.payload); err != nil {
			return kgToken{}, fmt.Errorf("payload: %w", err)
		}
		if tok.payload == nil {
			tok.payload = []byte{}
		}
		signed = tok.payload
	}

	var sig []byte
	if err := cbor.Unmarshal(arr[3], &sig); err != nil {
		return kgToken{}, fmt.Errorf("signature: %w", err)
	}
	if len(sig) != 64 {
		return kgToken{}, fmt.Errorf("signature is %d bytes, want 64", len(sig))
	}

	sigStruct := []byte{0x84, 0x6a}
	sigStruct = append(sigStruct, "Signature1"...)
	sigStruct = append(sigStruct, kgBstr(protected)...)
	sigStruct = append(sigStruct, 0x40)
	sigStruct = append(sigStruct, kgBstr(signed)...)
	h := sha256.Sum256(sigStruct)
	r := new(big.Int).SetBytes(sig[:32])
	sv := new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, h[:], r, sv) {
		return kgToken{}, errors.New("COSE signature does not verify")
	}
	return tok, nil
}

// kgVerifyKeygen verifies a %KEYGEN answer and decodes its COSE payload,
// checking that the payload digest matches the body.
func kgVerifyKeygen(pub *ecdsa.PublicKey, s string) (kgToken, kgKeygenPayload, error) {
	tok, err := kgVerify(pub, s)
	if err != nil {
		return tok, kgKeygenPayload{}, err
	}
	if tok.payload == nil {
		return tok, kgKeygenPayload{}, errors.New("keygen COSE payload is detached")
	}
	var arr []cbor.RawMessage
	if err := cbor.Unmarshal(tok.payload, &arr); err != nil {
		return tok, kgKeygenPayload{}, fmt.Errorf("payload array: %w", err)
	}
	if len(arr) != 5 {
		return tok, kgKeygenPayload{}, fmt.Errorf("payload has %d elements, want 5", len(arr))
	}
	var p kgKeygenPayload
	var secTagCBOR []byte
	for i, dst := range []any{&p.id, &p.uuid, &secTagCBOR, &p.digest, &p.nonce} {
		if err := cbor.Unmarshal(arr[i], dst); err != nil {
			return tok, p, fmt.Errorf("payload[%d]: %w", i, err)
		}
	}
	if len(secTagCBOR) == 0 || secTagCBOR[0]>>5 != 0 {
		return tok, p, fmt.Errorf("sec_tag %x is not a CBOR unsigned integer", secTagCBOR)
	}
	if err := cbor.Unmarshal(secTagCBOR, &p.secTag); err != nil {
		return tok, p, fmt.Errorf("sec_tag: %w", err)
	}
	want := sha256.Sum256(tok.body)
	if !bytes.Equal(p.digest, want[:]) {
		return tok, p, fmt.Errorf("payload digest %x != sha256(body) %x", p.digest, want)
	}
	return tok, p, nil
}

func TestKeygenResultString(t *testing.T) {
	r := keygenResult{Body: []byte{0xfb, 0xff}, COSE: []byte{0xfe}}
	if got, want := r.String(), "-_8._g"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestKeygenSignatureEncoding(t *testing.T) {
	r := big.NewInt(0x0102)
	s := new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 32))
	got := coseES256Signature(r, s)
	want := make([]byte, 64)
	want[30], want[31] = 0x01, 0x02
	copy(want[32:], bytes.Repeat([]byte{0xff}, 32))
	if !bytes.Equal(got, want) {
		t.Fatalf("coseES256Signature = %x, want %x", got, want)
	}
}

func TestKeygenCSR(t *testing.T) {
	identity := kgKey(t)
	tests := []struct {
		name   string
		secTag uint32
		attrs  string
		want   pkix.Name
	}{
		{"default subject", 17, "", pkix.Name{CommonName: kgDevUUIDString}},
		{"blank attributes", 0, "  ", pkix.Name{CommonName: kgDevUUIDString}},
		{"attributes", 16842753, "O=Nordic,L=Trondheim,C=no,CN=my-device",
			pkix.Name{Organization: []string{"Nordic"}, Locality: []string{"Trondheim"}, Country: []string{"no"}, CommonName: "my-device"}},
		{"all keys", 2147483648, "C=NO,ST=Trondelag,L=Trondheim,O=Nordic Semiconductor,OU=RD,CN=dev-1",
			pkix.Name{Country: []string{"NO"}, Province: []string{"Trondelag"}, Locality: []string{"Trondheim"},
				Organization: []string{"Nordic Semiconductor"}, OrganizationalUnit: []string{"RD"}, CommonName: "dev-1"}},
		{"max sec_tag", 4294967295, "CN=x", pkix.Name{CommonName: "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := kgKey(t)
			res, err := makeKeygen(&kgCountingReader{}, identity, kgDevUUID, tc.secTag, key, 0, tc.attrs)
			if err != nil {
				t.Fatal(err)
			}
			tok, p, err := kgVerifyKeygen(&identity.PublicKey, res.String())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tok.body, res.Body) {
				t.Fatal("decoded body differs from Body")
			}
			csr, err := x509.ParseCertificateRequest(tok.body)
			if err != nil {
				t.Fatal(err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Fatalf("CSR signature: %v", err)
			}
			if csr.SignatureAlgorithm != x509.ECDSAWithSHA256 {
				t.Errorf("CSR signature algorithm %v", csr.SignatureAlgorithm)
			}
			if pub, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
				t.Error("CSR public key is not the generated key")
			}
			got := csr.Subject
			got.Names = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("subject = %+v, want %+v", got, tc.want)
			}
			if p.id != 9 {
				t.Errorf("payload id = %d, want 9 (CSR_msg_v1)", p.id)
			}
			if !bytes.Equal(p.uuid, kgDevUUID[:]) {
				t.Errorf("uuid = %x", p.uuid)
			}
			if p.secTag != uint64(tc.secTag) {
				t.Errorf("sec_tag = %d, want %d", p.secTag, tc.secTag)
			}
			if !bytes.Equal(p.nonce, kgFirstBytes(16)) {
				t.Errorf("nonce = %x, want first 16 random bytes", p.nonce)
			}
		})
	}
}

func TestKeygenPublicKey(t *testing.T) {
	identity, key := kgKey(t), kgKey(t)
	res, err := makeKeygen(nil, identity, kgDevUUID, 4294967294, key, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	tok, p, err := kgVerifyKeygen(&identity.PublicKey, res.String())
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.ParsePKIXPublicKey(tok.body)
	if err != nil {
		t.Fatal(err)
	}
	if pub, ok := pk.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		t.Error("body is not the generated public key")
	}
	if p.id != 8 {
		t.Errorf("payload id = %d, want 8 (pubkey_msg_v2)", p.id)
	}
	if p.secTag != 4294967294 {
		t.Errorf("sec_tag = %d", p.secTag)
	}
	if !bytes.Equal(p.uuid, kgDevUUID[:]) {
		t.Errorf("uuid = %x", p.uuid)
	}
	if len(p.nonce) != 16 {
		t.Errorf("nonce is %d bytes", len(p.nonce))
	}

	// crypto/rand nonces differ between calls.
	res2, err := makeKeygen(nil, identity, kgDevUUID, 4294967294, key, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	_, p2, err := kgVerifyKeygen(&identity.PublicKey, res2.String())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p.nonce, p2.nonce) {
		t.Error("two answers share a nonce")
	}
}

// kgTamper re-encodes s with f applied to the decoded part (0 body, 1 COSE).
func kgTamper(s string, part int, f func([]byte)) string {
	parts := strings.Split(s, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[part])
	f(b)
	parts[part] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestKeygenTampered(t *testing.T) {
	identity, key := kgKey(t), kgKey(t)
	csr, err := makeKeygen(nil, identity, kgDevUUID, 42, key, 0, "CN=tamper")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := makeKeygen(nil, identity, kgDevUUID, 42, key, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	att, err := makeAttestToken(nil, identity, kgDevUUID, kgFwUUID, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := func(b []byte) { b[len(b)-1] ^= 0x01 }
	tests := []struct {
		name   string
		s      string
		verify func(*ecdsa.PublicKey, string) error
	}{
		{"csr body", kgTamper(csr.String(), 0, func(b []byte) { b[40] ^= 0x01 }), kgVerifyKeygenErr},
		{"pubkey body", kgTamper(pub.String(), 0, last), kgVerifyKeygenErr},
		{"keygen signature", kgTamper(csr.String(), 1, last), kgVerifyKeygenErr},
		// The nonce is the last byte string inside the payload, just before
		// the 64-byte signature and its 2-byte header.
		{"keygen payload", kgTamper(csr.String(), 1, func(b []byte) { b[len(b)-67] ^= 0x01 }), kgVerifyKeygenErr},
		{"attest body", kgTamper(att.String(), 0, last), kgVerifyErr},
		{"attest signature", kgTamper(att.String(), 1, func(b []byte) { b[len(b)-10] ^= 0x01 }), kgVerifyErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.verify(&identity.PublicKey, tc.s); err == nil {
				t.Fatal("tampered answer verified")
			}
		})
	}

	// Untampered answers verify, but not under a different identity key.
	other := kgKey(t)
	for name, s := range map[string]string{"csr": csr.String(), "pubkey": pub.String(), "attest": att.String()} {
		if err := kgVerifyErr(&identity.PublicKey, s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := kgVerifyErr(&other.PublicKey, s); err == nil {
			t.Errorf("%s verified with the wrong identity key", name)
		}
	}
	// A CSR whose body was altered also fails its own signature check.
	bad := kgTamper(csr.String(), 0, func(b []byte) { b[40] ^= 0x01 })
	body, _ := base64.RawURLEncoding.DecodeString(strings.Split(bad, ".")[0])
	if c, err := x509.ParseCertificateRequest(body); err == nil && c.CheckSignature() == nil {
		t.Error("tampered CSR still self-verifies")
	}
}

func kgVerifyErr(pub *ecdsa.PublicKey, s string) error {
	_, err := kgVerify(pub, s)
	return err
}

func kgVerifyKeygenErr(pub *ecdsa.PublicKey, s string) error {
	_, _, err := kgVerifyKeygen(pub, s)
	return err
}

func TestKeygenErrors(t *testing.T) {
	identity, key := kgKey(t), kgKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		identity *ecdsa.PrivateKey
		key      *ecdsa.PrivateKey
		content  int
		attrs    string
	}{
		{"response_content 2", identity, key, 2, ""},
		{"response_content -1", identity, key, -1, ""},
		{"bad attribute", identity, key, 0, "E=me@example.com"},
		{"nil identity", nil, key, 0, ""},
		{"nil key", identity, nil, 1, ""},
		{"P-384 key", identity, p384, 0, ""},
		{"P-384 identity", p384, key, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := makeKeygen(nil, tc.identity, kgDevUUID, 1, tc.key, tc.content, tc.attrs)
			if err == nil || !strings.HasPrefix(err.Error(), "sim: ") {
				t.Fatalf("err = %v, want a sim: error", err)
			}
			if got, want := errors.Is(err, errBadAttributes), tc.attrs != ""; got != want {
				t.Errorf("errors.Is(err, errBadAttributes) = %v, want %v", got, want)
			}
		})
	}
	t.Run("reader error", func(t *testing.T) {
		_, err := makeKeygen(kgErrReader{}, identity, kgDevUUID, 1, key, 0, "")
		if err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
			t.Fatalf("err = %v, want wrapped reader error", err)
		}
	})
}

func TestAttestToken(t *testing.T) {
	identity := kgKey(t)
	challenge := []byte("0123456789abcdef")
	tests := []struct {
		name      string
		devType   int
		challenge []byte
	}{
		{"nRF9160 SIAA", 1, nil},
		{"nRF9161 LACA", 4, nil},
		{"nRF9151 LACA with challenge", 6, challenge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := makeAttestToken(nil, identity, kgDevUUID, kgFwUUID, tc.devType, tc.challenge)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := kgVerify(&identity.PublicKey, res.String())
			if err != nil {
				t.Fatal(err)
			}
			if tok.payload != nil {
				t.Fatalf("COSE payload is attached (%x), want detached null", tok.payload)
			}
			var raw []cbor.RawMessage
			if err := cbor.Unmarshal(tok.body, &raw); err != nil {
				t.Fatal(err)
			}
			wantLen := 4
			if tc.challenge != nil {
				wantLen = 5
			}
			if len(raw) != wantLen {
				t.Fatalf("body has %d elements, want %d", len(raw), wantLen)
			}
			var b struct {
				MsgType, DevType           int
				DevUUID, FwUUID, Challenge []byte
			}
			dsts := []any{&b.MsgType, &b.DevUUID, &b.DevType, &b.FwUUID, &b.Challenge}
			for i := range raw {
				if err := cbor.Unmarshal(raw[i], dsts[i]); err != nil {
					t.Fatalf("body[%d]: %v", i, err)
				}
			}
			if b.MsgType != 1 {
				t.Errorf("msg type = %d, want 1", b.MsgType)
			}
			if !bytes.Equal(b.DevUUID, kgDevUUID[:]) {
				t.Errorf("dev uuid = %x", b.DevUUID)
			}
			if b.DevType != tc.devType {
				t.Errorf("dev type = %d, want %d", b.DevType, tc.devType)
			}
			if !bytes.Equal(b.FwUUID, kgFwUUID[:]) {
				t.Errorf("fw uuid = %x", b.FwUUID)
			}
			if !bytes.Equal(b.Challenge, tc.challenge) {
				t.Errorf("challenge = %x, want %x", b.Challenge, tc.challenge)
			}
		})
	}
}

func TestAttestTokenErrors(t *testing.T) {
	identity := kgKey(t)
	tests := []struct {
		name      string
		identity  *ecdsa.PrivateKey
		devType   int
		challenge []byte
	}{
		{"short challenge", identity, 1, make([]byte, 15)},
		{"long challenge", identity, 1, make([]byte, 32)},
		{"device type 0", identity, 0, nil},
		{"nil identity", nil, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := makeAttestToken(nil, tc.identity, kgDevUUID, kgFwUUID, tc.devType, tc.challenge)
			if err == nil || !strings.HasPrefix(err.Error(), "sim: ") {
				t.Fatalf("err = %v, want a sim: error", err)
			}
		})
	}
}

func TestParseSubjectAttributes(t *testing.T) {
	good := []struct {
		in   string
		want pkix.Name
	}{
		{"", pkix.Name{}},
		{"CN=my-device", pkix.Name{CommonName: "my-device"}},
		{"O=Nordic,L=Trondheim,C=no,CN=my-device",
			pkix.Name{Organization: []string{"Nordic"}, Locality: []string{"Trondheim"}, Country: []string{"no"}, CommonName: "my-device"}},
		{" o = Nordic Semiconductor , ou=RD,OU=QA, st=Trondelag ",
			pkix.Name{Organization: []string{"Nordic Semiconductor"}, OrganizationalUnit: []string{"RD", "QA"}, Province: []string{"Trondelag"}}},
		{"CN=a=b", pkix.Name{CommonName: "a=b"}},
	}
	for _, tc := range good {
		got, err := parseSubjectAttributes(tc.in)
		if err != nil {
			t.Errorf("parseSubjectAttributes(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseSubjectAttributes(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	bad := []string{
		"CN",                 // no '='
		"=x",                 // no key
		"CN=",                // empty value
		"O=Nordic,",          // trailing empty element
		"O=Nordic,,CN=x",     // empty element
		"E=me@example.com",   // unsupported key
		"SN=Smith",           // unsupported key
		"CN=a,CN=b",          // duplicate CN
		"serialNumber=12345", // unsupported key
	}
	for _, in := range bad {
		if _, err := parseSubjectAttributes(in); !errors.Is(err, errBadAttributes) || !strings.HasPrefix(err.Error(), "sim: ") {
			t.Errorf("parseSubjectAttributes(%q) err = %v, want a sim: error wrapping errBadAttributes", in, err)
		}
	}
}
