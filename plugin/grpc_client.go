package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/nrfprov/nrfprov/plugin/proto"
)

// grpcClient is the host's view of a transport plugin: a Transport (and
// TargetLister) whose Conns are *Stream values.
type grpcClient struct {
	name   string
	client pb.TransportClient
	// exited is cancelled when the plugin process exits (go-plugin's
	// doneCtx); Background for in-process connections.
	exited context.Context
}

var (
	_ Transport    = (*grpcClient)(nil)
	_ TargetLister = (*grpcClient)(nil)
	_ Conn         = (*Stream)(nil)
	_ Resetter     = (*Stream)(nil)
)

// callErr turns a failed unary call into a typed error.
func (c *grpcClient) callErr(op string, err error) error {
	if c.exited.Err() != nil || status.Code(err) == codes.Unavailable {
		return &TransportExitedError{Transport: c.name, Err: fmt.Errorf("%s: %w", op, err)}
	}
	if status.Code(err) == codes.Unimplemented {
		return fmt.Errorf("plugin: transport %s: %s: %w: %w", c.name, op, ErrProtocol, err)
	}
	return fmt.Errorf("plugin: transport %s: %s: %w", c.name, op, err)
}

func (c *grpcClient) Describe(ctx context.Context) (Info, error) {
	resp, err := c.client.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Info{}, c.callErr("describe", err)
	}
	return Info{Name: resp.GetName(), Version: resp.GetVersion(), Description: resp.GetDescription(),
		Capabilities: capsFromWire(resp.GetCapabilities())}, nil
}

func (c *grpcClient) ListTargets(ctx context.Context) ([]Target, error) {
	resp, err := c.client.ListTargets(ctx, &pb.ListTargetsRequest{})
	if err != nil {
		return nil, c.callErr("list targets", err)
	}
	if err := fromWireError(c.name, "list targets", resp.GetError()); err != nil {
		return nil, err
	}
	targets := make([]Target, 0, len(resp.GetTargets()))
	for _, t := range resp.GetTargets() {
		targets = append(targets, Target{Address: t.GetAddress(), SerialNumber: t.GetSerialNumber(),
			Description: t.GetDescription(), Properties: t.GetProperties()})
	}
	return targets, nil
}

// Open opens a target in the plugin and returns its byte stream. ctx bounds
// the opening; the stream lives until Close or until the target or the
// plugin goes away.
func (c *grpcClient) Open(ctx context.Context, req OpenRequest) (Conn, error) {
	if req.Baud < 0 || req.Baud > 1<<31-1 {
		return nil, fmt.Errorf("plugin: open %s: baud %d: %w", req.Address, req.Baud, ErrInvalidArgument)
	}
	sctx, cancel := context.WithCancel(context.Background())
	// Until the target is open, the caller's ctx (and the plugin's exit)
	// cancels the stream; afterwards only Close or the plugin's exit do.
	stopOpenCancel := context.AfterFunc(ctx, cancel)
	stopExitCancel := context.AfterFunc(c.exited, cancel)
	fail := func(err error) (Conn, error) {
		stopOpenCancel()
		stopExitCancel()
		cancel()
		if ctx.Err() != nil || err == nil {
			return nil, fmt.Errorf("plugin: transport %s: open %s: %w", c.name, req.Address, ctx.Err())
		}
		return nil, err
	}
	st, err := c.client.Stream(sctx)
	if err != nil {
		return fail(c.callErr("open "+req.Address, err))
	}
	open := &pb.OpenRequest{Address: req.Address, Baud: uint32(req.Baud), FlowControl: req.FlowControl, Options: req.Options}
	if err := st.Send(&pb.ClientFrame{Frame: &pb.ClientFrame_Open{Open: open}}); err != nil {
		_, rerr := st.Recv()
		return fail(c.callErr("open "+req.Address, statusOr(rerr, err)))
	}
	first, err := st.Recv()
	if err != nil {
		return fail(c.callErr("open "+req.Address, err))
	}
	switch f := first.GetFrame().(type) {
	case *pb.ServerFrame_Opened:
		if !stopOpenCancel() {
			return fail(nil) // ctx ended just as the target opened
		}
		s := &Stream{
			transport: c.name, address: req.Address, id: f.Opened.GetConnId(), client: c,
			st: st, cancel: cancel, stopExitCancel: stopExitCancel,
			data: make(chan []byte, recvQueue), done: make(chan struct{}),
			sendSem: make(chan struct{}, 1), closing: make(chan struct{}),
		}
		s.readDeadline.init()
		go s.receive()
		return s, nil
	case *pb.ServerFrame_Closed:
		err := fromWireError(c.name, "open "+req.Address, f.Closed.GetError())
		if err == nil {
			err = fmt.Errorf("plugin: transport %s: open %s: closed without an error: %w", c.name, req.Address, ErrProtocol)
		}
		return fail(err)
	default:
		return fail(fmt.Errorf("plugin: transport %s: open %s: unexpected first frame %T: %w", c.name, req.Address, f, ErrProtocol))
	}
}

// statusOr prefers the stream's status (from Recv) over Send's bare io.EOF.
func statusOr(recvErr, sendErr error) error {
	if recvErr != nil && !errors.Is(recvErr, io.EOF) {
		return recvErr
	}
	return sendErr
}

// recvQueue is how many received frames a Stream holds for Read before its
// receiver stops reading the gRPC stream (and flow control pushes back to
// the plugin and then to the port).
const recvQueue = 16

// closeTimeout bounds how long Close waits for the plugin to confirm that the
// target is closed before it abandons the stream.
const closeTimeout = 5 * time.Second

// Stream is an open target in a plugin, as seen by the host. It implements
// Conn and Resetter, and SetReadDeadline. One goroutine (the receiver) owns
// the gRPC stream's receive side; Write calls are serialised on the send side.
type Stream struct {
	transport, address string
	id                 uint64
	client             *grpcClient
	st                 pb.Transport_StreamClient
	cancel             context.CancelFunc
	stopExitCancel     func() bool

	data chan []byte   // frames for Read; the receiver closes it when the stream ends
	done chan struct{} // closed when the receiver has set endErr
	// endErr is why the stream ended: nil means the plugin confirmed Close.
	endErr error

	rmu     sync.Mutex // serialises Read; guards pending
	pending []byte
	readDeadline

	sendSem   chan struct{} // a mutex Close can wait on with a timeout
	closeOnce sync.Once
	closing   chan struct{}
}

// Address is the address the stream was opened with.
func (s *Stream) Address() string { return s.address }

func (s *Stream) receive() {
	defer close(s.done)
	defer close(s.data)
	for {
		f, err := s.st.Recv()
		if err != nil {
			s.endErr = s.streamErr(err)
			return
		}
		switch f := f.GetFrame().(type) {
		case *pb.ServerFrame_Data:
			if len(f.Data) == 0 {
				continue
			}
			select {
			case s.data <- f.Data:
			case <-s.closing:
				// Nobody will read any more; keep draining until the
				// plugin confirms the close.
			}
		case *pb.ServerFrame_Closed:
			if err := fromWireError(s.transport, "stream "+s.address, f.Closed.GetError()); err != nil {
				s.endErr = err
			}
			// Wait for the end of the stream (io.EOF) so the call is done.
			for {
				if _, err := s.st.Recv(); err != nil {
					break
				}
			}
			return
		default:
			s.endErr = fmt.Errorf("plugin: transport %s: stream %s: unexpected %T frame: %w", s.transport, s.address, f, ErrProtocol)
			s.cancel()
			return
		}
	}
}

func (s *Stream) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// streamErr classifies a broken stream: our own Close, or the plugin gone.
func (s *Stream) streamErr(err error) error {
	if s.isClosing() {
		return fmt.Errorf("plugin: transport %s: stream %s: %w", s.transport, s.address, ErrClosed)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // the plugin ended the stream without a closed frame
	}
	return &TransportExitedError{Transport: s.transport, Err: fmt.Errorf("stream %s: %w", s.address, err)}
}

// Read reads received bytes. It returns io.EOF after the plugin closed the
// stream cleanly, the plugin's error (matching ErrDisconnected, ...) when the
// target failed, a *TransportExitedError when the plugin went away,
// ErrClosed after Close, and an error matching os.ErrDeadlineExceeded when the
// read deadline passes.
func (s *Stream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.isClosing() {
		return 0, fmt.Errorf("plugin: transport %s: read %s: %w", s.transport, s.address, ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if len(s.pending) == 0 {
		select {
		case b, ok := <-s.data:
			if !ok {
				<-s.done
				if s.endErr == nil {
					return 0, io.EOF
				}
				return 0, s.endErr
			}
			s.pending = b
		case <-s.closing:
			return 0, fmt.Errorf("plugin: transport %s: read %s: %w", s.transport, s.address, ErrClosed)
		case <-s.readDeadline.wait():
			return 0, fmt.Errorf("plugin: transport %s: read %s: %w", s.transport, s.address, os.ErrDeadlineExceeded)
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// SetReadDeadline makes pending and future Reads fail with an error matching
// os.ErrDeadlineExceeded once t has passed; the zero time clears it.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.readDeadline.set(t)
	return nil
}

// Write sends p to the target in frames of at most MaxFrame bytes. It blocks
// only while the plugin applies backpressure; Close unblocks it.
func (s *Stream) Write(p []byte) (int, error) {
	select {
	case s.sendSem <- struct{}{}:
	case <-s.closing:
		return 0, fmt.Errorf("plugin: transport %s: write %s: %w", s.transport, s.address, ErrClosed)
	}
	defer func() { <-s.sendSem }()
	if s.isClosing() {
		return 0, fmt.Errorf("plugin: transport %s: write %s: %w", s.transport, s.address, ErrClosed)
	}
	written := 0
	for written < len(p) {
		n := min(len(p)-written, MaxFrame)
		if err := s.st.Send(&pb.ClientFrame{Frame: &pb.ClientFrame_Data{Data: p[written : written+n]}}); err != nil {
			// The stream is over; the receiver learns why.
			<-s.done
			if s.endErr == nil {
				return written, fmt.Errorf("plugin: transport %s: write %s: %w", s.transport, s.address, io.ErrClosedPipe)
			}
			return written, s.endErr
		}
		written += n
	}
	return written, nil
}

// Reset resets the board through the plugin. It returns an error matching
// ErrNotSupported when the transport has no reset capability.
func (s *Stream) Reset(ctx context.Context, req ResetRequest) error {
	resp, err := s.client.client.Reset(ctx, &pb.ResetRequest{ConnId: s.id, Kind: req.Kind})
	if err != nil {
		return s.client.callErr("reset", err)
	}
	if err := fromWireError(s.transport, "reset", resp.GetError()); err != nil {
		if errors.Is(err, ErrNotSupported) {
			return &NotSupportedError{Transport: s.transport, Capability: CapReset}
		}
		return err
	}
	return nil
}

// Close closes the target: it ends the send side and waits (at most
// closeTimeout) for the plugin to confirm, so that the target can be opened
// again as soon as Close returns. It is idempotent and unblocks Read and
// Write. It returns nil unless the plugin failed to confirm.
func (s *Stream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closing)
		timer := time.NewTimer(closeTimeout)
		defer timer.Stop()
		defer s.stopExitCancel()
		defer s.cancel()
		select {
		case s.sendSem <- struct{}{}:
			// No Send in progress: half-close so the plugin closes the target.
			cerr := s.st.CloseSend()
			<-s.sendSem
			if cerr != nil {
				err = fmt.Errorf("plugin: transport %s: close %s: %w", s.transport, s.address, cerr)
				return
			}
		case <-timer.C:
			err = fmt.Errorf("plugin: transport %s: close %s: a write is stuck: %w", s.transport, s.address, os.ErrDeadlineExceeded)
			return
		}
		select {
		case <-s.done:
			var exited *TransportExitedError
			if errors.As(s.endErr, &exited) {
				err = s.endErr
			}
		case <-timer.C:
			err = fmt.Errorf("plugin: transport %s: close %s: no confirmation: %w", s.transport, s.address, os.ErrDeadlineExceeded)
		}
	})
	return err
}

// readDeadline is a resettable deadline whose expiry is a closed channel,
// so that a blocked Read can select on it.
type readDeadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	expiry chan struct{} // closed when the deadline passes
}

func (d *readDeadline) init() { d.expiry = make(chan struct{}) }

func (d *readDeadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.expiry // the timer fired (or is firing): wait for it to close expiry
	}
	d.timer = nil
	select {
	case <-d.expiry:
		d.expiry = make(chan struct{}) // re-arm after an expired deadline
	default:
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		expiry := d.expiry
		d.timer = time.AfterFunc(dur, func() { close(expiry) })
		return
	}
	close(d.expiry)
}

func (d *readDeadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expiry
}
