package plugin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// EnvTLS carries a transport process's mutual-TLS material from the host: the plugin's own
// one-time certificate and P-256 key, and the host's one-time certificate, which is the only
// client the plugin accepts. It replaces go-plugin's AutoMTLS, which makes a P-521 key and
// certificate on both sides of every start (about a quarter of a provisioning run's CPU): the
// same mutual TLS with keys that cost microseconds. The plugin's key travels in the child's
// environment, which only the same user can read, and that user can read either process's
// memory anyway (AutoMTLS's keys included).
const EnvTLS = "NRFPROV_PLUGIN_TLS"

// mtlsHost is the host's side of one transport start: its TLS config, and the value of EnvTLS
// for the child.
type mtlsHost struct {
	config *tls.Config
	env    string
}

// newMTLS makes the one-time keys and certificates of one plugin start.
func newMTLS() (*mtlsHost, error) {
	host, hostDER, err := oneTimeCert()
	if err != nil {
		return nil, err
	}
	child, childDER, err := oneTimeCert()
	if err != nil {
		return nil, err
	}
	childKey, err := x509.MarshalPKCS8PrivateKey(child.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("plugin: tls: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(child.Leaf)
	enc := base64.RawStdEncoding.EncodeToString
	return &mtlsHost{
		config: &tls.Config{
			Certificates: []tls.Certificate{host},
			RootCAs:      pool,
			ServerName:   "localhost",
			MinVersion:   tls.VersionTLS13,
		},
		env: EnvTLS + "=" + strings.Join([]string{enc(childDER), enc(childKey), enc(hostDER)}, "."),
	}, nil
}

// serverTLS is the plugin's side: the config for its listener from EnvTLS, or nil when the host
// passed none (a host using go-plugin's AutoMTLS, which go-plugin then serves). It takes EnvTLS
// out of the process environment as it reads it, so nothing the transport starts (a helper
// tool, a shell) inherits the one-time private key.
func serverTLS() (*tls.Config, error) {
	v := os.Getenv(EnvTLS)
	if v == "" {
		return nil, nil
	}
	if err := os.Unsetenv(EnvTLS); err != nil {
		return nil, fmt.Errorf("plugin: %s: %w", EnvTLS, err)
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("plugin: %s: want 3 parts, got %d", EnvTLS, len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawStdEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("plugin: %s: part %d: %w", EnvTLS, i+1, err)
		}
		raw[i] = b
	}
	key, err := x509.ParsePKCS8PrivateKey(raw[1])
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: key: %w", EnvTLS, err)
	}
	own, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: certificate: %w", EnvTLS, err)
	}
	host, err := x509.ParseCertificate(raw[2])
	if err != nil {
		return nil, fmt.Errorf("plugin: %s: host certificate: %w", EnvTLS, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(host)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{raw[0]}, PrivateKey: key, Leaf: own}},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// oneTimeCert makes a self-signed ECDSA P-256 certificate for "localhost", valid for a day, that
// signs itself (so it is its own trust root, as AutoMTLS's are) and serves as client and server.
func oneTimeCert() (tls.Certificate, []byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("plugin: tls: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("plugin: tls: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"nrfprov"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("plugin: tls: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("plugin: tls: own certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, der, nil
}
