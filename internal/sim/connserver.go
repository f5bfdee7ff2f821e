package sim

import (
	"net"
	"sync"
)

// connServer accepts connections and serves each on a goroutine of its own. Close stops
// accepting, ends the open connections and waits for their goroutines; a server given a quit
// channel (the board's) also closes when that closes. The board's endpoints (GDB, J-Link
// telnet, control socket) are all one of these.
type connServer struct {
	ln        net.Listener
	serve     func(c net.Conn)
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed by Close
}

// newConnServer returns a server that has not started: start it once its owner is complete, so
// that serve never sees a half-built owner.
func newConnServer(ln net.Listener, serve func(c net.Conn)) *connServer {
	return &connServer{ln: ln, serve: serve, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
}

// start accepts connections until Close, or until quit (when not nil) closes.
func (s *connServer) start(quit <-chan struct{}) {
	s.wg.Add(1)
	go s.accept()
	if quit != nil {
		go func() {
			select {
			case <-quit:
				s.Close()
			case <-s.done:
			}
		}()
	}
}

// Addr is the address the server listens on (host:port, or a socket path).
func (s *connServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server and ends its connections.
func (s *connServer) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeErr = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *connServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			c.Close()
			return
		default:
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}
