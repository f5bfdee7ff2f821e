package plugin

import (
	"context"
	"os"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"

	pb "github.com/nrfprov/nrfprov/plugin/proto"
)

// GRPCPlugin is the go-plugin glue for transports. In a plugin process Impl
// is the transport being served; on the host side Impl is nil and Name names
// the transport in errors.
type GRPCPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	Impl Transport
	// Log is the plugin-side logger (Serve sets it).
	Log *logrus.Entry
	// Name is the host-side name of the transport.
	Name string
}

// GRPCServer registers the transport service (plugin side).
func (p *GRPCPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	log := p.Log
	if log == nil {
		log = DiscardLog()
	}
	pb.RegisterTransportServer(s, newGRPCServer(p.Impl, log))
	return nil
}

// GRPCClient returns the host's Transport. ctx ends when the plugin process
// exits.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &grpcClient{name: p.Name, client: pb.NewTransportClient(c), exited: ctx}, nil
}

// Serve serves t as a transport plugin and does not return. A transport
// executable calls it from main, before writing anything to stdout: stdout
// carries the go-plugin handshake and must stay untouched.
//
// Logs written through the returned-by-PluginLogger entry (or log) reach the
// host's log under the transport's name.
func Serve(t Transport, log *logrus.Entry) {
	if log == nil {
		log = PluginLogger()
	}
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			ProtocolVersion: {PluginName: &GRPCPlugin{Impl: t, Log: log}},
		},
		GRPCServer:  goplugin.DefaultGRPCServer,
		TLSProvider: serverTLS,
		Logger:      NewHCLogger(log),
	})
}

// PluginLogger is the logger a plugin process should use: hclog JSON lines
// on stderr (which the host parses and folds into its own log), at the level
// the host passed in EnvLogLevel. It must be created before Serve, which
// replaces os.Stderr.
func PluginLogger() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetFormatter(&HCLogJSONFormatter{})
	l.SetLevel(logrus.InfoLevel)
	if lvl, err := logrus.ParseLevel(os.Getenv(EnvLogLevel)); err == nil {
		l.SetLevel(lvl)
	}
	return logrus.NewEntry(l)
}
