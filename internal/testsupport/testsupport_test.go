package testsupport

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestContextEndsWithDeadline(t *testing.T) {
	ctx := Context(t, 10*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the context outlived its deadline")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v", ctx.Err())
	}
}

func TestReadUntil(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = io.WriteString(a, "AT\r\nOK\r\nmore") }()
	if got := ReadUntil(t, b, "OK\r\n", 5*time.Second); !strings.HasPrefix(got, "AT\r\nOK\r\n") {
		t.Fatalf("got %q", got)
	}
	// Nothing more comes: the deadline ends the wait with what was read.
	got, err := ReadUntilErr(b, "never", 50*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %q, err %v; want a timeout", got, err)
	}
	if _, err := ReadUntilErr(zeroReader{}, "x", time.Second); err == nil {
		t.Fatal("a reader returning (0, nil) was accepted")
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestCertAndKey(t *testing.T) {
	c1, c2 := CertPEM(t, "a", 0), CertPEM(t, "a", 2000)
	if c1 == c2 || len(c2) < 2000 || strings.Contains(c1, "\r") {
		t.Fatalf("certificates: %d and %d bytes, equal %v", len(c1), len(c2), c1 == c2)
	}
	blk, _ := pem.Decode([]byte(c2))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || cert.Subject.CommonName != "a" {
		t.Fatalf("certificate: %v %+v", err, cert)
	}
	blk, _ = pem.Decode([]byte(KeyPEM(t)))
	if _, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("key: %v %s", err, blk.Type)
	}
}
