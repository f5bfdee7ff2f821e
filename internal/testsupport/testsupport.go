// Package testsupport is what tests across nrfprov share instead of copying: a context bound
// to the test and a deadline, reading a stream until a marker with a deadline, and real
// throwaway certificates and keys. It imports nothing of nrfprov, so any package's tests can
// use it (boards come from internal/sim/simtest).
package testsupport

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Context is the test's context (cancelled when the test ends) with a deadline d from now.
func Context(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(tb.Context(), d)
	tb.Cleanup(cancel)
	return ctx
}

// ContextFunc is Context with the deadline fixed: a package's `var ctxT = ContextFunc(10*time.Second)`.
func ContextFunc(d time.Duration) func(testing.TB) context.Context {
	return func(tb testing.TB) context.Context { return Context(tb, d) }
}

// deadliner is a reader whose reads can be bounded (net.Conn, *os.File, serial ports).
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// ReadUntilErr reads r until what it read contains want, for at most d when r takes a read
// deadline (cleared again after). It returns everything read.
func ReadUntilErr(r io.Reader, want string, d time.Duration) (string, error) {
	if dl, ok := r.(deadliner); ok {
		if err := dl.SetReadDeadline(time.Now().Add(d)); err != nil {
			return "", err
		}
		defer func() { _ = dl.SetReadDeadline(time.Time{}) }()
	}
	var got bytes.Buffer
	buf := make([]byte, 512)
	for !bytes.Contains(got.Bytes(), []byte(want)) {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return got.String(), err
		}
		if n == 0 {
			return got.String(), fmt.Errorf("Read returned (0, nil)")
		}
	}
	return got.String(), nil
}

// ReadUntil is ReadUntilErr failing the test on an error.
func ReadUntil(tb testing.TB, r io.Reader, want string, d time.Duration) string {
	tb.Helper()
	s, err := ReadUntilErr(r, want, d)
	if err != nil {
		tb.Fatalf("waiting for %q: got %q: %v", want, s, err)
	}
	return s
}

// CertPEM is a real self-signed ECDSA P-256 certificate for cn, as PEM with LF line breaks,
// at least minLen bytes long (subject alternative names are added until it is; 0: as small as
// it comes). Every call makes a new key, so two certificates never share bytes.
func CertPEM(tb testing.TB, cn string, minLen int) string {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	// As small as a real certificate comes (about 560 bytes of PEM): old modem firmware has short
	// AT buffers, and tests write chains of two.
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4711),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Unix(1700000000, 0),
		NotAfter:     time.Unix(2000000000, 0),
	}
	for {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			tb.Fatal(err)
		}
		p := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		if len(p) >= minLen {
			return p
		}
		tmpl.DNSNames = append(tmpl.DNSNames, fmt.Sprintf("device-%04d.example.com", len(tmpl.DNSNames)))
	}
}

// KeyPEM is a real ECDSA P-256 private key as PKCS#8 PEM.
func KeyPEM(tb testing.TB) string {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// RequireTool finds a Debian tool a test drives (name, from Debian package pkg) and returns its
// path. Without it the test skips with the apt-get line that installs it, or fails under CI
// (CI set), whose .ci/run installs it: a missing tool never passes for coverage there.
func RequireTool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not installed (apt-get install --no-install-recommends %s)", name, pkg)
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI: %s; .ci/run installs it", msg)
	}
	tb.Skip(msg)
	return ""
}

// TestCA is a throwaway certificate authority: its certificate and key, and both as PEM.
type TestCA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte // PKCS #8
}

// CA makes a throwaway P-256 CA named cn, valid from notBefore to notAfter, that may sign
// certificates.
func CA(tb testing.TB, cn string, notBefore, notAfter time.Time) TestCA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore,
		NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return TestCA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})}
}
