package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/nrfprov/nrfprov/internal/testsupport"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	pb "github.com/nrfprov/nrfprov/plugin/proto"
)

// These tests run the gRPC adapter pair in one process over a real socket
// (go-plugin's TestPluginGRPCConn). They do not replace the subprocess tests
// in internal/e2e; they pin the adapter's semantics precisely.

// fakeTransport opens net.Pipe pairs: the Conn goes to the plugin server, the
// other end (the "board") to the test through boards.
type fakeTransport struct {
	boards    chan net.Conn
	resets    chan ResetRequest
	openBlock bool // Open waits for ctx to end

	mu     sync.Mutex
	writes []int // sizes of the writes the server made to the conn
}

func newFakeTransport() *fakeTransport {
	return &fakeTransport{boards: make(chan net.Conn, 4), resets: make(chan ResetRequest, 4)}
}

func (f *fakeTransport) Describe(context.Context) (Info, error) {
	return Info{Name: "fake", Version: "v1.2.3", Description: "net.Pipe", Capabilities: []Capability{CapReset}}, nil
}

func (f *fakeTransport) Open(ctx context.Context, req OpenRequest) (Conn, error) {
	if f.openBlock {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	switch req.Address {
	case "missing":
		return nil, fmt.Errorf("fake: open %s: %w", req.Address, ErrNotFound)
	case "busy":
		return nil, fmt.Errorf("fake: open %s: %w", req.Address, ErrBusy)
	}
	host, board := net.Pipe()
	f.boards <- board
	c := &fakeConn{Conn: host, t: f}
	if req.Address == "resettable" {
		return &resettableConn{c}, nil
	}
	return c, nil
}

func (f *fakeTransport) ListTargets(context.Context) ([]Target, error) {
	return []Target{{Address: "/dev/fake0", SerialNumber: "000960000001", Properties: map[string]string{"vid": "1366"}}}, nil
}

type fakeConn struct {
	net.Conn
	t *fakeTransport
}

func (c *fakeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("fake: board hung up: %w", ErrDisconnected)
	}
	return n, err
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.t.mu.Lock()
	c.t.writes = append(c.t.writes, len(p))
	c.t.mu.Unlock()
	return c.Conn.Write(p)
}

type resettableConn struct{ *fakeConn }

func (c *resettableConn) Reset(_ context.Context, req ResetRequest) error {
	c.t.resets <- req
	return nil
}

// connect serves impl in-process and returns the host's Transport.
func connect(t *testing.T, impl Transport) (*grpcClient, *goplugin.GRPCClient) {
	t.Helper()
	client, server := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{
		PluginName: &GRPCPlugin{Impl: impl, Name: "fake"},
	})
	// Close asks the server to shut down (GRPCController.Shutdown stops it).
	t.Cleanup(func() { _ = client.Close(); <-server.DoneCh })
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatalf("Dispense: %v", err)
	}
	return raw.(*grpcClient), client
}

// ctxT is the test's context with a deadline (internal/testsupport).
var ctxT = testsupport.ContextFunc(10 * time.Second)

func open(t *testing.T, tr Transport, addr string) *Stream {
	t.Helper()
	c, err := tr.Open(ctxT(t), OpenRequest{Address: addr})
	if err != nil {
		t.Fatalf("Open(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*Stream)
}

func board(t *testing.T, f *fakeTransport) net.Conn {
	t.Helper()
	select {
	case b := <-f.boards:
		t.Cleanup(func() { _ = b.Close() })
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the plugin never opened the board")
		return nil
	}
}

// readFull reads exactly n bytes from r within 10 s.
func readFull(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	if d, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = d.SetReadDeadline(time.Now().Add(10 * time.Second))
		defer func() { _ = d.SetReadDeadline(time.Time{}) }()
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}

// boardWrite writes from a goroutine (net.Pipe is synchronous) and returns
// the write's error on a channel.
func boardWrite(b net.Conn, p []byte) <-chan error {
	errc := make(chan error, 1)
	go func() { _, err := b.Write(p); errc <- err }()
	return errc
}

func TestDescribeAndListTargets(t *testing.T) {
	tr, _ := connect(t, newFakeTransport())
	info, err := tr.Describe(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "fake" || info.Version != "v1.2.3" || !info.Has(CapReset) || info.Has(CapBaud) {
		t.Fatalf("Describe = %+v", info)
	}
	targets, err := tr.ListTargets(ctxT(t))
	if err != nil || len(targets) != 1 || targets[0].SerialNumber != "000960000001" || targets[0].Properties["vid"] != "1366" {
		t.Fatalf("ListTargets = %+v, %v", targets, err)
	}
}

type describeOnly struct{}

func (describeOnly) Describe(context.Context) (Info, error) { return Info{Name: "plain"}, nil }
func (describeOnly) Open(context.Context, OpenRequest) (Conn, error) {
	return nil, errors.New("plain: cannot open")
}

func TestMissingCapabilitiesAreNamedErrors(t *testing.T) {
	tr, _ := connect(t, describeOnly{})
	_, err := tr.ListTargets(ctxT(t))
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("ListTargets on a transport without it: %v, want ErrNotSupported", err)
	}
	_, err = tr.Open(ctxT(t), OpenRequest{Address: "x"})
	var re *RemoteError
	if !errors.As(err, &re) || re.Kind != nil || re.Message != "plain: cannot open" {
		t.Fatalf("Open error = %#v, want a RemoteError with no kind and the plugin's text", err)
	}

	f := newFakeTransport()
	tr, _ = connect(t, f)
	s := open(t, tr, "plain-conn")
	board(t, f)
	err = s.Reset(ctxT(t), ResetRequest{})
	var ns *NotSupportedError
	if !errors.As(err, &ns) || ns.Capability != CapReset || !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Reset on a conn without it: %v, want NotSupportedError{reset}", err)
	}
	// The in-process helper says the same for a Conn that is no Resetter.
	if err := Reset(ctxT(t), struct{ Conn }{}, ResetRequest{}); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("plugin.Reset = %v", err)
	}
}

func TestReset(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "resettable")
	board(t, f)
	if err := s.Reset(ctxT(t), ResetRequest{Kind: "pin"}); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got := <-f.resets; got.Kind != "pin" {
		t.Fatalf("plugin saw reset kind %q, want pin", got.Kind)
	}
}

func TestOpenErrorsKeepTheirKind(t *testing.T) {
	tr, _ := connect(t, newFakeTransport())
	for addr, want := range map[string]error{"missing": ErrNotFound, "busy": ErrBusy} {
		_, err := tr.Open(ctxT(t), OpenRequest{Address: addr})
		if !errors.Is(err, want) {
			t.Errorf("Open(%s) = %v, want %v", addr, err, want)
		}
	}
	if _, err := tr.Open(ctxT(t), OpenRequest{Address: "x", Baud: -1}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Open with baud -1 = %v, want ErrInvalidArgument", err)
	}
}

func TestOpenHonoursContext(t *testing.T) {
	f := newFakeTransport()
	f.openBlock = true
	tr, _ := connect(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := tr.Open(ctx, OpenRequest{Address: "slow"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open past its deadline = %v, want context.DeadlineExceeded", err)
	}
}

func TestExchangeBothWays(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "dk")
	b := board(t, f)

	if _, err := s.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b, 3); string(got) != "AT\r" {
		t.Fatalf("board got %q", got)
	}
	errc := boardWrite(b, []byte("OK\r\n"))
	if got := readFull(t, s, 4); string(got) != "OK\r\n" {
		t.Fatalf("host got %q", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestBulkIsIntactAndFramesAreBounded(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "dk")
	b := board(t, f)

	up := make([]byte, 3*MaxFrame+123)
	for i := range up {
		up[i] = byte(i * 7)
	}
	errc := make(chan error, 1)
	go func() { _, err := s.Write(up); errc <- err }()
	if got := readFull(t, b, len(up)); !bytes.Equal(got, up) {
		t.Fatal("host->board bulk data corrupted")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for _, n := range f.writes {
		if n > MaxFrame || n == 0 {
			t.Errorf("plugin received a %d-byte frame; frames are 1..%d bytes", n, MaxFrame)
		}
	}
	f.mu.Unlock()

	down := make([]byte, 5*MaxFrame+7)
	for i := range down {
		down[i] = byte(i * 13)
	}
	werr := boardWrite(b, down)
	if got := readFull(t, s, len(down)); !bytes.Equal(got, down) {
		t.Fatal("board->host bulk data corrupted")
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

func TestReadDeadline(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "dk")
	b := board(t, f)

	deadline := time.Now().Add(20 * time.Millisecond)
	_ = s.SetReadDeadline(deadline)
	_, err := s.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past deadline = %v", err)
	}
	if time.Now().Before(deadline) {
		t.Fatal("Read timed out before its deadline")
	}
	// An expired deadline keeps failing Reads until it is moved.
	if _, err := s.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second Read = %v", err)
	}
	_ = s.SetReadDeadline(time.Time{})
	errc := boardWrite(b, []byte("Ready\r\n"))
	if got := readFull(t, s, 7); string(got) != "Ready\r\n" {
		t.Fatalf("got %q after clearing the deadline", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestCloseClosesTheTargetAndUnblocksRead(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "dk")
	b := board(t, f)

	readErr := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 8)); readErr <- err }()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close returns once the plugin has closed the target.
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("board read after host Close = %v, want EOF (target closed)", err)
	}
	if err := <-readErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending Read after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Write([]byte("AT\r")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The target can be opened again at once.
	s2 := open(t, tr, "dk")
	b2 := board(t, f)
	if _, err := s2.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, b2, 3); string(got) != "AT\r" {
		t.Fatalf("reopened board got %q", got)
	}
}

func TestTargetDisconnectReachesReadAndWrite(t *testing.T) {
	f := newFakeTransport()
	tr, _ := connect(t, f)
	s := open(t, tr, "dk")
	b := board(t, f)

	errc := boardWrite(b, []byte("last words"))
	if got := readFull(t, s, 10); string(got) != "last words" {
		t.Fatalf("got %q", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	_ = b.Close() // the board goes away
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := s.Read(make([]byte, 8))
	var re *RemoteError
	if !errors.Is(err, ErrDisconnected) || !errors.As(err, &re) || re.Transport != "fake" {
		t.Fatalf("Read after board hangup = %v, want a RemoteError matching ErrDisconnected", err)
	}
	if _, err := s.Write([]byte("AT\r")); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Write after board hangup = %v, want ErrDisconnected", err)
	}
}

func TestServerRejectsProtocolViolations(t *testing.T) {
	f := newFakeTransport()
	_, gc := connect(t, f)
	raw := pb.NewTransportClient(gc.Conn)
	for name, frames := range map[string][]*pb.ClientFrame{
		"data before open": {{Frame: &pb.ClientFrame_Data{Data: []byte("AT\r")}}},
		"oversized frame": {
			{Frame: &pb.ClientFrame_Open{Open: &pb.OpenRequest{Address: "dk"}}},
			{Frame: &pb.ClientFrame_Data{Data: make([]byte, MaxFrame+1)}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := raw.Stream(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, fr := range frames {
				if err := st.Send(fr); err != nil {
					t.Fatal(err)
				}
			}
			var closed *pb.Closed
			for closed == nil {
				fr, err := st.Recv()
				if err != nil {
					t.Fatalf("stream ended without a closed frame: %v", err)
				}
				if fr.GetOpened() != nil {
					board(t, f)
				}
				closed = fr.GetClosed()
			}
			if closed.GetError().GetKind() != pb.Error_KIND_PROTOCOL {
				t.Fatalf("closed with %v, want KIND_PROTOCOL", closed.GetError())
			}
		})
	}
}

func TestCoalesce(t *testing.T) {
	free := make(chan []byte, readBuffers)
	chunks := make(chan chunk, readBuffers)
	buf := func(s string) []byte { b := make([]byte, MaxFrame); return b[:copy(b, s)] }
	chunks <- chunk{buf: buf("K\r\n")}
	chunks <- chunk{buf: buf("\r\nRe")}
	frame, rest := coalesce(chunk{buf: buf("\r\nO")}, chunks, free)
	if string(frame) != "\r\nOK\r\n\r\nRe" || rest != nil {
		t.Fatalf("coalesce = %q, %v; want every queued chunk in one frame", frame, rest)
	}
	if len(free) != 3 {
		t.Fatalf("%d buffers returned to the free list, want 3", len(free))
	}

	big := make([]byte, MaxFrame)
	chunks <- chunk{buf: big[:MaxFrame-2]}
	chunks <- chunk{err: io.EOF}
	frame, rest = coalesce(chunk{buf: buf("abc")}, chunks, free)
	if len(frame) != 3 || rest == nil || len(rest.buf) != MaxFrame-2 {
		t.Fatalf("coalesce overflowed a frame: len %d, rest %v", len(frame), rest)
	}
	frame, rest = coalesce(*rest, chunks, free)
	if len(frame) != MaxFrame-2 || rest == nil || rest.err != io.EOF {
		t.Fatalf("coalesce lost the reader's error: len %d, rest %+v", len(frame), rest)
	}
}
