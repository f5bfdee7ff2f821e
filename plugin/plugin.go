// Package plugin is nrfprov's transport contract and its plugin machinery.
//
// Every link to a board goes through a transport: a small Go interface
// (Transport, Conn, and the optional Resetter and TargetLister) served by a
// separate process over hashicorp/go-plugin's gRPC protocol. The package holds
// both sides:
//
//   - for plugin authors: the interfaces, and Serve, which a transport
//     executable calls from main;
//   - for the host: Discover (find nrfprov-transport-<name> executables),
//     the lock file and checksum pins, and Host, which launches a transport
//     as a child process (mutual TLS, SHA-256 checked, killed with the host)
//     and returns a Transport whose Conns are byte streams over gRPC.
//
// The wire protocol is specified in PROTOCOL.md beside this file.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Transport is what a transport plugin implements, and what the host gets
// back from Host.Start.
type Transport interface {
	// Describe says what the transport is and what it can do.
	Describe(ctx context.Context) (Info, error)
	// Open opens a target and returns its byte stream. ctx bounds the
	// opening only, not the life of the Conn.
	Open(ctx context.Context, req OpenRequest) (Conn, error)
}

// Conn is an open target: a bidirectional byte stream. Read and Write may run
// concurrently, one goroutine each; Close may be called from any goroutine and
// must make a pending Read return.
type Conn interface {
	io.ReadWriteCloser
}

// Resetter is the optional "reset" capability of a Conn: reset the board
// behind it (for instance through a debug probe).
type Resetter interface {
	Reset(ctx context.Context, req ResetRequest) error
}

// TargetLister is the optional "list-targets" capability of a Transport.
type TargetLister interface {
	ListTargets(ctx context.Context) ([]Target, error)
}

// Capability names something a transport can do beyond opening a stream.
type Capability string

const (
	// CapBaud: OpenRequest.Baud sets the line speed.
	CapBaud Capability = "baud"
	// CapFlowControl: OpenRequest.FlowControl turns RTS/CTS on.
	CapFlowControl Capability = "flow-control"
	// CapReset: the Conn implements Resetter.
	CapReset Capability = "reset"
	// CapListTargets: the Transport implements TargetLister.
	CapListTargets Capability = "list-targets"
)

// Info describes a transport.
type Info struct {
	// Name is the transport's name, the <name> of nrfprov-transport-<name>.
	Name string `json:"name"`
	// Version is the plugin's own version.
	Version string `json:"version"`
	// Description is one line for humans.
	Description string `json:"description,omitempty"`
	// Capabilities lists what the transport can do beyond open/read/write/close.
	Capabilities []Capability `json:"capabilities"`
}

// Has reports whether the transport declares capability c.
func (i Info) Has(c Capability) bool { return slices.Contains(i.Capabilities, c) }

// OpenRequest says which target to open and how.
type OpenRequest struct {
	// Address is transport-specific: a port path for serial, host:port for
	// tcp, a probe serial number for rtt.
	Address string
	// Baud is the line speed in bit/s; 0 means the transport's default.
	Baud int
	// FlowControl turns RTS/CTS hardware flow control on.
	FlowControl bool
	// Options are transport-specific settings.
	Options map[string]string
}

// ResetRequest says how to reset a board.
type ResetRequest struct {
	// Kind is transport-specific ("system", "pin", ...); empty is the default.
	Kind string
}

// Target is something a transport can open.
type Target struct {
	Address      string            `json:"address"`
	SerialNumber string            `json:"serial_number,omitempty"`
	Description  string            `json:"description,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
}

// Reset resets the board behind c, or returns a *NotSupportedError when c has
// no reset capability.
func Reset(ctx context.Context, c Conn, req ResetRequest) error {
	r, ok := c.(Resetter)
	if !ok {
		return &NotSupportedError{Capability: CapReset}
	}
	return r.Reset(ctx, req)
}

// Sentinel errors. A transport wraps the first six (with %w) so that the kind
// survives the trip to the host; the host side returns errors matching them.
var (
	ErrNotFound        = errors.New("target not found")
	ErrBusy            = errors.New("target busy")
	ErrPermission      = errors.New("permission denied")
	ErrNotSupported    = errors.New("not supported")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrDisconnected    = errors.New("target disconnected")

	// ErrProtocol: the other side broke the transport protocol.
	ErrProtocol = errors.New("transport protocol violation")
	// ErrClosed: the Conn was closed by this side.
	ErrClosed = errors.New("stream closed")
	// ErrTransportExited: the plugin process went away under an open Conn or
	// a call. Errors matching it are *TransportExitedError.
	ErrTransportExited = errors.New("transport exited")
	// ErrUnknownTransport: no transport of that name was found.
	ErrUnknownTransport = errors.New("unknown transport")
	// ErrChecksumMismatch: an external plugin's SHA-256 differs from its pin.
	// Errors matching it are *ChecksumMismatchError.
	ErrChecksumMismatch = errors.New("plugin checksum mismatch")
	// ErrNotLocked: an external plugin has no pinned checksum, so it is not run.
	ErrNotLocked = errors.New("plugin has no pinned checksum")
	// ErrIncompatible: the plugin speaks no protocol version the host knows.
	ErrIncompatible = errors.New("incompatible transport protocol version")
)

// NotSupportedError says a transport lacks a capability.
type NotSupportedError struct {
	Transport  string
	Capability Capability
}

func (e *NotSupportedError) Error() string {
	if e.Transport == "" {
		return fmt.Sprintf("plugin: %s: %s", e.Capability, ErrNotSupported)
	}
	return fmt.Sprintf("plugin: transport %s: %s: %s", e.Transport, e.Capability, ErrNotSupported)
}

func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

// RemoteError is an error a plugin reported for an operation. It unwraps to
// the sentinel of its kind (ErrNotFound, ErrBusy, ...), if any.
type RemoteError struct {
	Transport string
	Op        string // "open", "reset", "list targets", "stream"
	Kind      error  // one of the sentinels above, or nil
	Message   string // the plugin's own error text
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("plugin: transport %s: %s: %s", e.Transport, e.Op, e.Message)
}

func (e *RemoteError) Unwrap() error { return e.Kind }

// TransportExitedError says the plugin process (or the connection to it)
// went away. It matches ErrTransportExited.
type TransportExitedError struct {
	Transport string
	Err       error
}

func (e *TransportExitedError) Error() string {
	return fmt.Sprintf("plugin: transport %s exited: %v", e.Transport, e.Err)
}

func (e *TransportExitedError) Unwrap() error { return e.Err }

func (e *TransportExitedError) Is(target error) bool { return target == ErrTransportExited }

// WithKind marks err as being of kind (one of the sentinels above, e.g.
// ErrNotFound) without changing its text, so that the kind crosses the plugin
// boundary. It returns nil for a nil err.
func WithKind(err, kind error) error {
	if err == nil {
		return nil
	}
	return &kindError{err: err, kind: kind}
}

type kindError struct{ err, kind error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }
