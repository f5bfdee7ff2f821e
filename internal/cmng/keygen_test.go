package cmng

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// keygenBlob builds a %KEYGEN answer the way the spec describes it (§1.12) and nrfcloud-utils
// decodes it: base64url(CSR DER) "." base64url(COSE_Sign1 with payload
// [9, uuid, bstr(cbor(sec_tag)), sha256, nonce]). The signature is not a real one: ParseKeyGen
// does not check it.
func keygenBlob(t *testing.T, secTag int64, digest func([]byte) []byte) (string, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "dev"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	tagCBOR, _ := cbor.Marshal(secTag)
	uuid := []byte{0x25, 0xc9, 0x57, 0x51, 0xef, 0xa4, 0x40, 0xd4, 0x8b, 0x4a, 0x1d, 0xca, 0xab, 0x81, 0xfa, 0xc9}
	payload, _ := cbor.Marshal([]any{9, uuid, tagCBOR, digest(der), make([]byte, 16)})
	prot, _ := cbor.Marshal(map[int]int{1: -7})
	cose, err := cbor.Marshal(cbor.Tag{Number: 18, Content: []any{prot, map[int][]byte{}, payload, make([]byte, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(der) + "." + base64.RawURLEncoding.EncodeToString(cose), der
}

func sha(der []byte) []byte { s := sha256.Sum256(der); return s[:] }

func TestParseKeyGen(t *testing.T) {
	blob, der := keygenBlob(t, 16842753, sha)
	csr, err := ParseKeyGen(blob)
	if err != nil {
		t.Fatal(err)
	}
	if !csr.DigestOK || csr.SecTag != 16842753 || csr.DeviceUUID != "25c95751-efa4-40d4-8b4a-1dcaab81fac9" || string(csr.DER) != string(der) {
		t.Errorf("csr %+v", csr)
	}
	if len(csr.PEM) == 0 || string(csr.PEM[:36]) != "-----BEGIN CERTIFICATE REQUEST-----\n" {
		t.Errorf("PEM %q", csr.PEM)
	}
	// A tag above 2^31 sent as a negative CBOR integer (nrfcloud-utils converts it back).
	blob, _ = keygenBlob(t, -2, sha)
	if csr, err := ParseKeyGen(blob); err != nil || csr.SecTag != 4294967294 {
		t.Errorf("negative sec_tag: %+v, %v", csr, err)
	}
}

func TestParseKeyGenDigestMismatch(t *testing.T) {
	blob, _ := keygenBlob(t, 7, func(der []byte) []byte {
		s := sha(der)
		s[0] ^= 1
		return s
	})
	csr, err := ParseKeyGen(blob)
	var ve *VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, ErrVerify) {
		t.Fatalf("err %v, want *VerifyError", err)
	}
	if csr == nil || csr.DigestOK || ve.Want == "" || ve.Got == "" || ve.Want == ve.Got {
		t.Errorf("csr %+v, error %+v", csr, ve)
	}
	// No COSE part at all: nothing proves the CSR.
	body := blob[:len(blob)-len(blob[indexDot(blob):])]
	if _, err := ParseKeyGen(body); !errors.Is(err, ErrVerify) {
		t.Errorf("no COSE: %v, want ErrVerify", err)
	}
	for _, bad := range []string{"", "!!!.abc", "AAAA.AAAA", body + ".AAAA"} {
		if _, err := ParseKeyGen(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseKeyGen(%.20q): %v, want ErrMalformed", bad, err)
		}
	}
}

func indexDot(s string) int {
	for i := range s {
		if s[i] == '.' {
			return i
		}
	}
	return len(s)
}
