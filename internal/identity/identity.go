// Package identity gives a board a device identity whose private key never leaves the modem:
// the modem generates the key (%KEYGEN) and a CSR, the host signs the CSR with the user's CA
// (crypto/x509), the signed client certificate goes back to the same sec_tag, and an onboarding
// file in the format nRF Cloud's bulk onboarding takes is written.
//
// Proof that the modem still holds the key a certificate was issued for: a private key cannot be
// read back, and a fresh %KEYGEN would replace it. So when the key is generated, nrfprov records
// the SHA-256 the modem lists for the new CLIENT_KEY (on firmware whose hashes are real, the
// digest of the stored key) together with the CSR's public key and the issued certificate, in a
// small JSON record on the host. A later run keeps the identity only when the modem still lists
// that CLIENT_KEY with that same digest, lists the CLIENT_CERT with the SHA-256 of the recorded
// certificate, and the certificate chains to the CA and carries the recorded public key. Any
// other key (rewritten, regenerated, deleted) lists a different digest, and the identity is made
// again.
//
// This package never prints and never logs: the CA key is a secret and appears nowhere but in
// the signing call.
package identity

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// DeviceIDSource says what the device ID (the certificate's CN and the onboarding row's key) is
// made from.
type DeviceIDSource string

// The device ID sources.
const (
	// FromIMEI: Prefix + the modem's IMEI (nrfcloud-utils --id-imei).
	FromIMEI DeviceIDSource = "imei"
	// FromUUID: Prefix + the device UUID the modem reports in the %KEYGEN COSE payload
	// (nrfcloud-utils' default).
	FromUUID DeviceIDSource = "uuid"
)

// Spec is what the manifest asks for.
type Spec struct {
	SecTag   uint32
	CA       *x509.Certificate
	CAPEM    []byte // the CA certificate as read (not secret)
	CAKey    crypto.Signer
	CAKeySrc string // where the CA key came from ("file ca.key"), for messages; never its content
	Days     int
	// Subject holds extra subject attributes (O, OU, L, ST, C); CN is always the device ID.
	Subject  pkix.Name
	IDSource DeviceIDSource
	Prefix   string
	// Dir holds the records and issued certificates.
	Dir string
	// Onboarding is the CSV file nRF Cloud bulk onboarding takes; "" writes none.
	Onboarding string
	SubType    string
	Tags       string
	FWTypes    string
}

// DeviceID returns the device ID for an IMEI or a device UUID, as the spec chooses.
func (s *Spec) DeviceID(imei, uuid string) string {
	if s.IDSource == FromUUID {
		return s.Prefix + uuid
	}
	return s.Prefix + imei
}

// KeygenAttributes is the CSR subject asked of %KEYGEN: CN only when the device ID is known
// beforehand (IMEI); with the UUID the modem's default CN is its UUID. The certificate's subject
// is set by the host either way.
func (s *Spec) KeygenAttributes(imei string) string {
	var parts []string
	for _, a := range subjectAttrs(s.Subject) {
		parts = append(parts, a)
	}
	if s.IDSource == FromIMEI {
		parts = append(parts, "CN="+s.DeviceID(imei, ""))
	}
	return strings.Join(parts, ",")
}

func subjectAttrs(n pkix.Name) []string {
	var out []string
	add := func(k string, vs []string) {
		for _, v := range vs {
			out = append(out, k+"="+v)
		}
	}
	add("C", n.Country)
	add("ST", n.Province)
	add("L", n.Locality)
	add("O", n.Organization)
	add("OU", n.OrganizationalUnit)
	return out
}

// ParseSubject reads "O=Acme,OU=Lab" into a name. CN is refused (the device ID is the CN), as
// are keys other than C, ST, L, O, OU, and values with quotes or control characters (they go
// into an AT command).
func ParseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	if strings.TrimSpace(s) == "" {
		return n, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("subject part %q is not KEY=value", part)
		}
		if strings.ContainsAny(v, "\"\\=\r\n\x00") {
			return n, fmt.Errorf("subject value %q has a quote, backslash, '=' or control character", v)
		}
		switch k {
		case "C":
			n.Country = append(n.Country, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "CN":
			return n, errors.New("subject must not set CN: the CN is the device ID (device_id: imei or uuid, with device_id_prefix)")
		default:
			return n, fmt.Errorf("subject key %q: use C, ST, L, O or OU", k)
		}
	}
	return n, nil
}

// ParseCA reads the CA certificate (the first CERTIFICATE block) and checks that it can sign
// certificates.
func ParseCA(pemData []byte) (*x509.Certificate, error) {
	for rest := pemData; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no CERTIFICATE block")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("not a certificate: %w", err)
		}
		if !c.IsCA && c.Version == 3 && c.BasicConstraintsValid {
			return nil, errors.New("the certificate is not a CA (basicConstraints CA:FALSE)")
		}
		return c, nil
	}
}

// ParseCAKey reads a PEM private key (PKCS#8, SEC 1 EC or PKCS#1 RSA) and checks that it is the
// key of ca. Errors never contain key material.
func ParseCAKey(pemData []byte, ca *x509.Certificate) (crypto.Signer, error) {
	var key any
	var err error
	found := false
	for rest := pemData; !found; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the key is encrypted: decrypt it first (openssl pkey -in ca.key -out ca-plain.key) and keep that file private")
		default:
			continue
		}
		found = true
	}
	if !found {
		return nil, errors.New("no PEM private key block (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)")
	}
	if err != nil {
		return nil, errors.New("the private key block does not parse")
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errors.New("the private key cannot sign")
	}
	if ca != nil {
		type equaler interface{ Equal(crypto.PublicKey) bool }
		if e, ok := s.Public().(equaler); !ok || !e.Equal(ca.PublicKey) {
			return nil, errors.New("the private key is not the CA certificate's key")
		}
	}
	return s, nil
}

// Sign issues the client certificate for a CSR the modem made: CN = deviceID plus the spec's
// subject, valid from now for spec.Days, for TLS client authentication, signed by the CA. The
// CSR's self-signature must verify.
func Sign(spec *Spec, csrDER []byte, deviceID string, now time.Time) ([]byte, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("identity: the CSR does not parse: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("identity: the CSR's signature does not verify: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("identity: serial number: %w", err)
	}
	subject := spec.Subject
	subject.CommonName = deviceID
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      subject,
		NotBefore:    now.Add(-5 * time.Minute).UTC(), // tolerate a board clock a little behind
		NotAfter:     now.AddDate(0, 0, spec.Days).UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, spec.CA, csr.PublicKey, spec.CAKey)
	if err != nil {
		return nil, fmt.Errorf("identity: signing with the CA key (%s): %w", spec.CAKeySrc, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// PublicKeySHA256 is the uppercase hex SHA-256 of a public key's SubjectPublicKeyInfo DER.
func PublicKeySHA256(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// CheckCert parses certPEM and checks that it chains to the spec's CA, is valid at now, is for
// client authentication and carries the public key whose SHA-256 is pubSHA. The reason says
// what is wrong.
func CheckCert(spec *Spec, certPEM []byte, pubSHA string, now time.Time) (*x509.Certificate, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("does not parse: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(spec.CA)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return c, fmt.Errorf("does not chain to the CA %q: %w", spec.CA.Subject.CommonName, err)
	}
	got, err := PublicKeySHA256(c.PublicKey)
	if err != nil {
		return c, fmt.Errorf("public key: %w", err)
	}
	if got != pubSHA {
		return c, errors.New("its public key is not the one the modem generated")
	}
	return c, nil
}
