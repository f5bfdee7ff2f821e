package sim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ControlRequest is one request on a board's control socket: a JSON object on one line.
//
//	{"op":"reset"}                                   system reset through the debugger
//	{"op":"flash","personality":"application"}       program another firmware, then reset
//	{"op":"flash","hex":"/path/app.hex"}             program a hex file; its identity decides the personality
//	{"op":"fault","fault":{"kind":"hang"}}           inject a fault (see Fault)
//	{"op":"clear_faults"}
//	{"op":"unplug"} / {"op":"replug"}                USB cable out / in (the board is USB powered)
//	{"op":"state"}                                   snapshot: hashes and metadata, never contents
//	{"op":"modem_firmware","package":"/p/mfw_nrf9160_1.3.6.zip"}  program a modem firmware package
type ControlRequest struct {
	Op          string `json:"op"`
	Personality string `json:"personality,omitempty"`
	Hex         string `json:"hex,omitempty"`
	Fault       *Fault `json:"fault,omitempty"`
	Package     string `json:"package,omitempty"`
}

// ControlResponse answers one request on one line.
type ControlResponse struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	State *State `json:"state,omitempty"`
}

// controlTimeout bounds every request, so a wedged client cannot hold a connection forever.
const controlTimeout = 30 * time.Second

// ControlPath is where a board's control socket lives.
func ControlPath(runDir, serial string) string {
	return filepath.Join(runDir, serial+".sock")
}

// ControlServer serves a board's control socket.
type ControlServer struct {
	b    *Board
	path string
	srv  *connServer
}

// ServeControl starts the board's control endpoint on a Unix socket in the run directory.
func ServeControl(b *Board) (*ControlServer, error) {
	path := ControlPath(b.cfg.RunDir, b.cfg.SerialNumber)
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("sim: control socket: %w", err)
	}
	s := &ControlServer{b: b, path: path}
	s.srv = newConnServer(ln, s.serve)
	s.srv.start(nil)
	return s, nil
}

// Path is the socket's path.
func (s *ControlServer) Path() string { return s.path }

// Close stops the endpoint, ends its connections and removes the socket.
func (s *ControlServer) Close() error {
	err := s.srv.Close()
	os.Remove(s.path)
	return err
}

func (s *ControlServer) serve(c net.Conn) {
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req ControlRequest
		var resp ControlResponse
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = fmt.Sprintf("bad request: %v", err)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
			st, err := s.b.Control(ctx, req)
			cancel()
			if err != nil {
				resp.Error = err.Error()
			} else {
				resp.OK = true
				resp.State = st
			}
		}
		c.SetWriteDeadline(time.Now().Add(controlTimeout))
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// Control carries out one control request; "state" returns the snapshot.
func (b *Board) Control(ctx context.Context, req ControlRequest) (*State, error) {
	switch req.Op {
	case "reset":
		return nil, b.Reset(ctx)
	case "flash":
		img, err := imageFor(req)
		if err != nil {
			return nil, err
		}
		return nil, b.Flash(ctx, img)
	case "fault":
		if req.Fault == nil {
			return nil, errors.New("sim: fault request without a fault")
		}
		return nil, b.InjectFault(ctx, *req.Fault)
	case "clear_faults":
		return nil, b.ClearFaults(ctx)
	case "unplug":
		return nil, b.Unplug(ctx)
	case "replug":
		return nil, b.Replug(ctx)
	case "modem_firmware":
		if req.Package == "" {
			return nil, errors.New("sim: modem_firmware needs a package")
		}
		return nil, b.ProgramModem(ctx, req.Package)
	case "state":
		st, err := b.State(ctx)
		if err != nil {
			return nil, err
		}
		return &st, nil
	}
	return nil, fmt.Errorf("sim: unknown control op %q (want reset, flash, modem_firmware, fault, clear_faults, unplug, replug or state)", req.Op)
}

func imageFor(req ControlRequest) (FirmwareImage, error) {
	switch {
	case req.Hex != "" && req.Personality != "":
		return FirmwareImage{}, errors.New("sim: flash takes a personality or a hex file, not both")
	case req.Hex != "":
		return ReadFirmwareHex(req.Hex)
	case req.Personality != "":
		p, err := ParsePersonality(req.Personality)
		if err != nil {
			return FirmwareImage{}, err
		}
		return FirmwareImage{Personality: p}, nil
	}
	return FirmwareImage{}, errors.New("sim: flash needs a personality or a hex file")
}

// ControlClient talks to a board's control socket (used by tests and stand-in flash tools).
type ControlClient struct {
	Path    string
	Timeout time.Duration // per request; default 30 s
}

// Do sends one request and returns the board's answer; a refused request is an error.
func (c ControlClient) Do(ctx context.Context, req ControlRequest) (*State, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = controlTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Path)
	if err != nil {
		return nil, fmt.Errorf("sim: control %s: %w", c.Path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("sim: control %s: %w", c.Path, err)
	}
	var resp ControlResponse
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return nil, fmt.Errorf("sim: control %s: %w", c.Path, err)
	}
	if !resp.OK {
		return nil, fmt.Errorf("sim: control %s: %s", req.Op, resp.Error)
	}
	return resp.State, nil
}
