// Command nrfprov-transport-tcp is the tcp transport (package plugin/tcptransport) as an external
// nrfprov transport, and the example of how a third party writes one: a plugin.Transport, and
// plugin.Serve in main.
//
// nrfprov serves "tcp" itself as a built-in, and a built-in wins over an external transport of
// the same name (the external one is listed as shadowed and never run). So a copy you change
// needs a name of its own: set name below (or build with -ldflags "-X main.name=mytcp"), call
// the executable nrfprov-transport-<name>, install it next to nrfprov, in $NRFPROV_PLUGIN_DIR or
// on PATH, and pin it with `nrfprov transports lock`.
package main

import (
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/plugin/tcptransport"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// name is the transport's name: it must match the executable's nrfprov-transport-<name>.
var name = tcptransport.Name

func main() {
	log := plugin.PluginLogger().WithField("transport", name)
	plugin.Serve(tcptransport.New(name, version, log), log)
}
