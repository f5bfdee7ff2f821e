package tcptransport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/plugin/tcptransport"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestOpenCarriesBytesAndReportsAHangUp: a real loopback peer; what it sends arrives, what is
// written reaches it, and its hang-up reads as ErrDisconnected.
func TestOpenCarriesBytesAndReportsAHangUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("Ready\r\n"))
		b := make([]byte, 4)
		n, _ := io.ReadFull(c, b)
		got <- string(b[:n])
		c.Close()
	}()
	tr := tcptransport.New(tcptransport.Name, "v1", nil)
	info, err := tr.Describe(ctxT(t))
	if err != nil || info.Name != "tcp" || info.Version != "v1" {
		t.Fatalf("Describe = %+v, %v", info, err)
	}
	conn, err := tr.Open(ctxT(t), plugin.OpenRequest{Address: ln.Addr().String(), Options: map[string]string{"connect_timeout": "2s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := make([]byte, 7)
	if _, err := io.ReadFull(conn, b); err != nil || string(b) != "Ready\r\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if _, err := conn.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "AT\r\n" {
		t.Fatalf("peer got %q", s)
	}
	if _, err := conn.Read(b); !errors.Is(err, plugin.ErrDisconnected) {
		t.Fatalf("read after the peer hung up = %v, want ErrDisconnected", err)
	}
}

// TestOpenRefusals: bad options and addresses are refused before dialling, with the reason;
// a port nobody listens on is ErrNotFound.
func TestOpenRefusals(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tr := tcptransport.New("mytcp", "dev", nil)
	if info, _ := tr.Describe(ctxT(t)); info.Name != "mytcp" {
		t.Fatalf("a copy under its own name describes itself as %q", info.Name)
	}
	for _, c := range []struct {
		req  plugin.OpenRequest
		kind error
		says string
	}{
		{plugin.OpenRequest{Address: closed, Options: map[string]string{"speed": "1"}}, plugin.ErrInvalidArgument, "unknown options"},
		{plugin.OpenRequest{Address: closed, Options: map[string]string{"connect_timeout": "soon"}}, plugin.ErrInvalidArgument, "connect_timeout"},
		{plugin.OpenRequest{Address: "no-port"}, plugin.ErrInvalidArgument, "missing port"},
		{plugin.OpenRequest{Address: closed}, plugin.ErrNotFound, "refused"},
	} {
		_, err := tr.Open(ctxT(t), c.req)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Open(%+v) = %v, want %v saying %q", c.req, err, c.kind, c.says)
		}
	}
}
