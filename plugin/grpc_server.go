package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	pb "github.com/nrfprov/nrfprov/plugin/proto"
)

// grpcServer adapts a Transport to the Transport gRPC service. It runs in
// the plugin process.
type grpcServer struct {
	pb.UnimplementedTransportServer
	impl Transport
	log  *logrus.Entry

	nextID atomic.Uint64
	mu     sync.Mutex
	conns  map[uint64]Conn
}

func newGRPCServer(impl Transport, log *logrus.Entry) *grpcServer {
	return &grpcServer{impl: impl, log: log, conns: map[uint64]Conn{}}
}

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	info, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return &pb.DescribeResponse{Name: info.Name, Version: info.Version, Description: info.Description,
		Capabilities: capsToWire(info.Capabilities)}, nil
}

func (s *grpcServer) ListTargets(ctx context.Context, _ *pb.ListTargetsRequest) (*pb.ListTargetsResponse, error) {
	l, ok := s.impl.(TargetLister)
	if !ok {
		return &pb.ListTargetsResponse{Error: toWireError(&NotSupportedError{Capability: CapListTargets})}, nil
	}
	targets, err := l.ListTargets(ctx)
	if err != nil {
		return &pb.ListTargetsResponse{Error: toWireError(err)}, nil
	}
	resp := &pb.ListTargetsResponse{}
	for _, t := range targets {
		resp.Targets = append(resp.Targets, &pb.Target{Address: t.Address, SerialNumber: t.SerialNumber,
			Description: t.Description, Properties: t.Properties})
	}
	return resp, nil
}

func (s *grpcServer) Reset(ctx context.Context, req *pb.ResetRequest) (*pb.ResetResponse, error) {
	s.mu.Lock()
	c, ok := s.conns[req.GetConnId()]
	s.mu.Unlock()
	if !ok {
		err := fmt.Errorf("reset: no open stream %d: %w", req.GetConnId(), ErrInvalidArgument)
		return &pb.ResetResponse{Error: toWireError(err)}, nil
	}
	return &pb.ResetResponse{Error: toWireError(Reset(ctx, c, ResetRequest{Kind: req.GetKind()}))}, nil
}

// chunk is what the port reader hands the stream sender: data, or the
// error that ended reading.
type chunk struct {
	buf []byte
	err error
}

// readBuffers is how many MaxFrame buffers each stream may fill ahead of the
// gRPC sender before the port reader waits (backpressure).
const readBuffers = 8

// Stream serves one open target. Three goroutines: this handler is the only
// sender on the gRPC stream; a port reader owns conn.Read; a receiver owns
// stream.Recv and conn.Write. The handler closes conn and joins the reader
// before it returns.
func (s *grpcServer) Stream(stream pb.Transport_StreamServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	req := first.GetOpen()
	if req == nil {
		err := fmt.Errorf("first frame must be open: %w", ErrProtocol)
		return stream.Send(closedFrame(err))
	}
	conn, err := s.impl.Open(ctx, OpenRequest{Address: req.GetAddress(), Baud: int(req.GetBaud()),
		FlowControl: req.GetFlowControl(), Options: req.GetOptions()})
	if err != nil {
		return stream.Send(closedFrame(err))
	}
	id := s.nextID.Add(1)
	log := s.log.WithFields(logrus.Fields{"address": req.GetAddress(), "conn": id})
	s.mu.Lock()
	s.conns[id] = conn
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, id)
		s.mu.Unlock()
	}()

	quit := make(chan struct{})
	chunks := make(chan chunk, readBuffers)
	free := make(chan []byte, readBuffers)
	for range readBuffers {
		free <- make([]byte, MaxFrame)
	}
	var readerDone sync.WaitGroup
	readerDone.Go(func() { readPort(conn, free, chunks, quit) })
	// stop ends the reader; after it the handler owns nothing but the stream.
	stop := func() {
		close(quit)
		_ = conn.Close()
		readerDone.Wait()
	}

	if err := stream.Send(&pb.ServerFrame{Frame: &pb.ServerFrame_Opened{Opened: &pb.Opened{ConnId: id}}}); err != nil {
		stop()
		return err
	}
	log.Debug("opened")

	// The receiver reports how the host side ended: nil when the host closed
	// its send side, else a write or protocol error.
	hostDone := make(chan error, 1)
	go func() { hostDone <- receive(stream, conn) }()

	var (
		end  error
		next *chunk // read but not yet sent: it did not fit the last frame
	)
loop:
	for {
		var c chunk
		if next != nil {
			c, next = *next, nil
		} else {
			select {
			case c = <-chunks:
			case err := <-hostDone:
				end = err
				break loop
			case <-ctx.Done():
				stop()
				log.Debug("host went away")
				return ctx.Err()
			}
		}
		if c.err != nil {
			end = c.err
			break
		}
		var data []byte
		data, next = coalesce(c, chunks, free)
		if err := stream.Send(&pb.ServerFrame{Frame: &pb.ServerFrame_Data{Data: data}}); err != nil {
			stop()
			return err // the host is gone; nobody to tell
		}
	}
	stop()
	if end != nil {
		log.WithError(end).Debug("stream ended")
	} else {
		log.Debug("closed by host")
	}
	return stream.Send(closedFrame(end))
}

// readPort is the port's owner: it reads into free buffers and hands them to
// the sender until reading fails or quit closes.
func readPort(conn Conn, free chan []byte, chunks chan<- chunk, quit <-chan struct{}) {
	for {
		var buf []byte
		select {
		case buf = <-free:
		case <-quit:
			return
		}
		n, err := conn.Read(buf)
		if n > 0 {
			select {
			case chunks <- chunk{buf: buf[:n]}:
			case <-quit:
				return
			}
		} else {
			free <- buf
		}
		if err != nil {
			select {
			case chunks <- chunk{err: err}:
			case <-quit:
			}
			return
		}
	}
}

// Coalescing. A frame takes every chunk the reader has already queued, up to
// MaxFrame, without waiting: small reads (a UART trickling an AT response)
// then share a frame whenever the gRPC sender is the bottleneck, and add no
// latency when it is not. Only when the frame is already large (bulk data:
// the reader filled lingerMin bytes) does the sender wait up to linger for
// more, to send fewer, fuller frames.
const (
	lingerMin = 2048
	linger    = time.Millisecond
)

// coalesce builds one frame from c and the chunks that follow it. It returns
// the first chunk it did not take: an error, or data that would overflow
// the frame.
func coalesce(c chunk, chunks <-chan chunk, free chan<- []byte) ([]byte, *chunk) {
	frame := append(make([]byte, 0, max(len(c.buf), lingerMin)), c.buf...)
	free <- c.buf[:cap(c.buf)]
	var timeout <-chan time.Time
	for {
		var n chunk
		select {
		case n = <-chunks:
		default:
			if len(frame) < lingerMin || len(frame) >= MaxFrame {
				return frame, nil
			}
			if timeout == nil {
				t := time.NewTimer(linger)
				defer t.Stop()
				timeout = t.C
			}
			select {
			case n = <-chunks:
			case <-timeout:
				return frame, nil
			}
		}
		if n.err != nil || len(frame)+len(n.buf) > MaxFrame {
			return frame, &n
		}
		frame = append(frame, n.buf...)
		free <- n.buf[:cap(n.buf)]
	}
}

// receive copies host frames to conn until the host closes its send side
// (nil), the stream breaks, a write fails or the host breaks the protocol.
func receive(stream pb.Transport_StreamServer, conn Conn) error {
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		data := f.GetData()
		if f.GetOpen() != nil || len(data) > MaxFrame {
			return fmt.Errorf("host sent an open frame or a %d-byte frame: %w", len(data), ErrProtocol)
		}
		if _, err := conn.Write(data); err != nil {
			return err
		}
	}
}

func closedFrame(err error) *pb.ServerFrame {
	return &pb.ServerFrame{Frame: &pb.ServerFrame_Closed{Closed: &pb.Closed{Error: toWireError(err)}}}
}
