// Command futureplugin is a transport from the future: it speaks only
// transport protocol 2, which this nrfprov does not know. The e2e tests use
// it to check that version negotiation refuses it clearly.
package main

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nrfprov/nrfprov/plugin"
)

type future struct{}

func (future) Describe(context.Context) (plugin.Info, error) {
	return plugin.Info{Name: "future", Version: "v9.0.0"}, nil
}

func (future) Open(context.Context, plugin.OpenRequest) (plugin.Conn, error) {
	return nil, errors.New("future: not implemented")
}

func main() {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: plugin.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			plugin.ProtocolVersion + 1: {plugin.PluginName: &plugin.GRPCPlugin{Impl: future{}}},
		},
		GRPCServer: goplugin.DefaultGRPCServer,
	})
}
