package serialtransport_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/plugin/serialtransport"
	"github.com/nrfprov/nrfprov/serialio"
)

func TestOpenInProcess(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = master.Close(); _ = slave.Close() })
	tr := serialtransport.New("v0.0.1", nil)
	ctx := context.Background()
	info, err := tr.Describe(ctx)
	if err != nil || info.Name != "serial" || info.Version != "v0.0.1" || !info.Has(plugin.CapFlowControl) || info.Has(plugin.CapReset) {
		t.Fatalf("Describe = %+v, %v", info, err)
	}
	c, err := tr.Open(ctx, plugin.OpenRequest{Address: slave.Name(), Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := c.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	_ = master.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 3)
	if _, err := io.ReadFull(master, got); err != nil || string(got) != "AT\r" {
		t.Fatalf("board got %q, %v", got, err)
	}
	// The board hangs up: the error carries both the serialio and the plugin kind.
	_ = master.Close()
	_, err = c.Read(make([]byte, 8))
	if !errors.Is(err, plugin.ErrDisconnected) || !errors.Is(err, serialio.ErrDisconnected) {
		t.Fatalf("Read after hangup = %v", err)
	}
}

func TestOpenErrorKinds(t *testing.T) {
	tr := serialtransport.New("", nil)
	for _, tc := range []struct {
		req  plugin.OpenRequest
		want error
	}{
		{plugin.OpenRequest{Address: filepath.Join(t.TempDir(), "ttyACM0")}, plugin.ErrNotFound},
		{plugin.OpenRequest{}, plugin.ErrInvalidArgument},
		{plugin.OpenRequest{Address: "/dev/null"}, plugin.ErrNotFound}, // no serial port there: no board
		{plugin.OpenRequest{Address: "/dev/ptmx", Options: map[string]string{"dtr": "off"}}, plugin.ErrInvalidArgument},
	} {
		c, err := tr.Open(context.Background(), tc.req)
		if err == nil {
			_ = c.Close()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}
}
