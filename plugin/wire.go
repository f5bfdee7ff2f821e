package plugin

import (
	"errors"

	goplugin "github.com/hashicorp/go-plugin"

	pb "github.com/nrfprov/nrfprov/plugin/proto"
)

// ProtocolVersion is the transport protocol version this package speaks
// (PROTOCOL.md). The host offers every version it knows; the plugin picks the
// highest one it also knows.
//
// Version 2 (this one): mutual TLS with one-time certificates the host makes (EnvTLS).
// Version 1 used go-plugin's AutoMTLS; a version 1 plugin is refused with "incompatible
// transport protocol version" and must be rebuilt against this package.
const ProtocolVersion = 2

// PluginName is the name under which the transport is dispensed.
const PluginName = "transport"

// MaxFrame bounds the bytes in one data frame, in both directions.
const MaxFrame = 32 << 10

// Handshake is the go-plugin handshake shared by the host and every transport.
// The cookie is a UX guard against running a plugin by hand, not security.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "NRFPROV_TRANSPORT_PLUGIN",
	MagicCookieValue: "2da1c79d-405d-4e3f-a0b6-3cfa2956e3fe",
}

// EnvLogLevel carries the host's log level to plugin processes, so they do
// not format lines the host would drop.
const EnvLogLevel = "NRFPROV_LOG_LEVEL"

// kinds is the one table between error sentinels and wire kinds.
var kinds = []struct {
	err  error
	kind pb.Error_Kind
}{
	{ErrNotFound, pb.Error_KIND_NOT_FOUND},
	{ErrBusy, pb.Error_KIND_BUSY},
	{ErrPermission, pb.Error_KIND_PERMISSION_DENIED},
	{ErrNotSupported, pb.Error_KIND_NOT_SUPPORTED},
	{ErrInvalidArgument, pb.Error_KIND_INVALID_ARGUMENT},
	{ErrDisconnected, pb.Error_KIND_DISCONNECTED},
	{ErrProtocol, pb.Error_KIND_PROTOCOL},
}

// toWireError encodes err for the host; nil stays nil.
func toWireError(err error) *pb.Error {
	if err == nil {
		return nil
	}
	e := &pb.Error{Message: err.Error()}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			e.Kind = k.kind
			break
		}
	}
	return e
}

// fromWireError decodes an in-band error; nil stays nil.
func fromWireError(transport, op string, e *pb.Error) error {
	if e == nil {
		return nil
	}
	re := &RemoteError{Transport: transport, Op: op, Message: e.GetMessage()}
	for _, k := range kinds {
		if k.kind == e.GetKind() {
			re.Kind = k.err
			break
		}
	}
	return re
}

func capsToWire(cs []Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func capsFromWire(ss []string) []Capability {
	out := make([]Capability, len(ss))
	for i, s := range ss {
		out[i] = Capability(s)
	}
	return out
}
