// Command nrfprov provisions TLS credentials into nRF91 modems.
//
// This step of the command line carries the transport layer: `nrfprov
// transports` lists the transport plugins, `nrfprov transports lock` pins
// their checksums, and the hidden `nrfprov plugin serve <name>` serves the
// built-in transports when nrfprov launches itself as a plugin.
package main

import (
	"context"
	"os"

	goplugin "github.com/hashicorp/go-plugin"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	a := newApp(os.Stdin, os.Stdout, os.Stderr, cancel)
	done := make(chan int, 1)
	go func() { done <- a.execute(ctx, os.Args[1:]) }()
	var code int
	select {
	case code = <-done:
		// Every Host is closed by its command; this catches any other
		// go-plugin client before exit.
		goplugin.CleanupClients()
	case <-a.forced:
		// Second interrupt: leave now. Plugins die with this process
		// (Pdeathsig) rather than after a graceful shutdown.
		code = exitInterrupted
	}
	cancel()
	os.Exit(code)
}
