package plugin

import (
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
)

// handshake runs a TLS handshake between client and server configs over a real loopback TCP
// connection and returns the client's and the server's errors.
func handshake(t *testing.T, client, server *tls.Config) (cerr, serr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		s := tls.Server(c, server)
		err = s.Handshake()
		if err == nil {
			// TLS 1.3 checks the client's certificate after the client's side is done:
			// read once so that a refusal reaches the client.
			_, err = s.Read(make([]byte, 1))
		}
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := tls.Client(c, client)
	cerr = tc.Handshake()
	if cerr == nil {
		_, cerr = tc.Write([]byte{1})
	}
	if cerr == nil {
		_, cerr = tc.Read(make([]byte, 1)) // the server's alert, or EOF when it accepted
		if cerr != nil && strings.Contains(cerr.Error(), "EOF") {
			cerr = nil
		}
	}
	return cerr, <-done
}

func serverFor(t *testing.T, m *mtlsHost) *tls.Config {
	t.Helper()
	name, value, _ := strings.Cut(m.env, "=")
	t.Setenv(name, value)
	cfg, err := serverTLS()
	if err != nil || cfg == nil {
		t.Fatalf("serverTLS: %v, %v", cfg, err)
	}
	return cfg
}

func TestMTLSHandshake(t *testing.T) {
	m, err := newMTLS()
	if err != nil {
		t.Fatal(err)
	}
	cerr, serr := handshake(t, m.config, serverFor(t, m))
	if cerr != nil || serr != nil {
		t.Fatalf("host %v, plugin %v", cerr, serr)
	}
}

// The plugin accepts only the host that started it, and the host only that plugin.
func TestMTLSRefusesStrangers(t *testing.T) {
	a, err := newMTLS()
	if err != nil {
		t.Fatal(err)
	}
	b, err := newMTLS()
	if err != nil {
		t.Fatal(err)
	}
	if _, serr := handshake(t, b.config, serverFor(t, a)); serr == nil {
		t.Error("plugin a accepted host b")
	}
	if cerr, _ := handshake(t, a.config, serverFor(t, b)); cerr == nil {
		t.Error("host a accepted plugin b")
	}
	noCert := a.config.Clone()
	noCert.Certificates = nil
	if _, serr := handshake(t, noCert, serverFor(t, a)); serr == nil {
		t.Error("plugin a accepted a host without a certificate")
	}
}

func TestServerTLSWithoutEnv(t *testing.T) {
	t.Setenv(EnvTLS, "")
	if cfg, err := serverTLS(); cfg != nil || err != nil {
		t.Fatalf("got %v, %v; want nil, nil (go-plugin's own AutoMTLS then applies)", cfg, err)
	}
	t.Setenv(EnvTLS, "a.b")
	if _, err := serverTLS(); err == nil {
		t.Fatal("a malformed value was accepted")
	}
}

// The plugin's one-time private key leaves the environment as it is read: nothing the transport
// starts inherits it.
func TestServerTLSTakesTheKeyOutOfTheEnvironment(t *testing.T) {
	m, err := newMTLS()
	if err != nil {
		t.Fatal(err)
	}
	serverFor(t, m)
	if _, set := os.LookupEnv(EnvTLS); set {
		t.Fatalf("%s is still in the plugin's environment after serverTLS", EnvTLS)
	}
	for _, kv := range os.Environ() { // what exec.Cmd hands a child by default
		if strings.HasPrefix(kv, EnvTLS+"=") {
			t.Fatalf("a child of the plugin would inherit %s", EnvTLS)
		}
	}
}
