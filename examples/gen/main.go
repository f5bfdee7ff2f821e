// Command gen writes the throwaway test credentials under examples/: a self-signed CA, a client
// certificate signed by it and the client's P-256 key (examples/nrfcloud), and a PSK with its
// identity (examples/psk). Everything it writes is generated test material, not secret, and
// must never be used on a real device.
//
// Run it from the repository root: go run ./examples/gen -dir examples
//
// Each run makes new keys, so the files (and their SHA-256) change; the sizes stay in the ranges
// the reference-set benchmark expects (CA ≈ 1.9 KB, client certificate ≈ 1.2 KB, key ≈ 0.25 KB).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Target PEM sizes in bytes; SANs are added until a certificate reaches its target.
const (
	caTarget     = 1900
	clientTarget = 1200
)

func main() {
	dir := flag.String("dir", "examples", "the examples directory")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	notBefore := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := notBefore.AddDate(30, 0, 0)

	caKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		Subject: pkix.Name{
			Organization:       []string{"nrfprov examples"},
			OrganizationalUnit: []string{"THROWAWAY TEST CA - NOT SECRET - DO NOT USE ON A REAL DEVICE"},
			CommonName:         "nrfprov example root CA",
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caPEM, caCert, err := padded(caTmpl, nil, &caKey.PublicKey, caKey, "ca", caTarget)
	if err != nil {
		return err
	}

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	clientTmpl := &x509.Certificate{
		Subject: pkix.Name{
			Organization:       []string{"nrfprov examples"},
			OrganizationalUnit: []string{"THROWAWAY TEST DEVICE - NOT SECRET"},
			CommonName:         "nrfprov-example-device",
		},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientPEM, _, err := padded(clientTmpl, caCert, &clientKey.PublicKey, caKey, "device", clientTarget)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		return err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})

	psk := make([]byte, 16)
	if _, err := rand.Read(psk); err != nil {
		return err
	}

	files := map[string][]byte{
		"nrfcloud/ca.pem":         caPEM,
		"nrfcloud/client.pem":     clientPEM,
		"nrfcloud/client-key.pem": keyPEM,
		// No trailing newline: the modem would store it as part of the PSK or identity.
		"psk/psk.hex":          []byte(hex.EncodeToString(psk)),
		"psk/psk-identity.txt": []byte("nrfprov-example-identity"),
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes\n", path, len(data))
	}
	return nil
}

// padded signs tmpl (self-signed when parent is nil), adding DNS names until the PEM is at
// least target bytes long.
func padded(tmpl, parent *x509.Certificate, pub, signer any, label string, target int) ([]byte, *x509.Certificate, error) {
	for n := 0; ; n++ {
		t := *tmpl
		t.SerialNumber = big.NewInt(int64(1000 + n))
		for i := 0; i < n; i++ {
			t.DNSNames = append(t.DNSNames, fmt.Sprintf("%s-%02d.example.invalid", label, i))
		}
		p := parent
		if p == nil {
			p = &t
		}
		der, err := x509.CreateCertificate(rand.Reader, &t, p, pub, signer)
		if err != nil {
			return nil, nil, err
		}
		out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if len(out) >= target || n > 100 {
			cert, err := x509.ParseCertificate(der)
			return out, cert, err
		}
	}
}
