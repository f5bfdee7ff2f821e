package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/plugin"
)

func (a *app) newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "plugin",
		Short:  "Transport plugin internals",
		Hidden: true,
	}
	cmd.AddCommand(newPluginServeCmd(a), newPluginConnectCmd(a))
	return cmd
}

// newPluginServeCmd is how nrfprov serves its built-in transports: the host
// runs `nrfprov plugin serve <name>` as a go-plugin child process. Nothing
// may reach stdout before plugin.Serve writes the handshake.
func newPluginServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "serve <transport>",
		Short:       "Serve a built-in transport over go-plugin (run by nrfprov itself)",
		Args:        exactArgs(1),
		Annotations: map[string]string{annotationPluginServer: "true"},
		RunE: func(_ *cobra.Command, args []string) error {
			mk, ok := builtins[args[0]]
			if !ok {
				names := builtinNames()
				slices.Sort(names)
				return usageError{fmt.Errorf("no built-in transport %q (built-ins: %s)", args[0], strings.Join(names, ", "))}
			}
			log := plugin.PluginLogger().WithField("transport", args[0])
			plugin.Serve(mk(log), log) // does not return
			return nil
		},
	}
}

// newPluginConnectCmd bridges stdin/stdout to a target through a transport
// plugin: a raw terminal for diagnosing a transport, and the host process the
// end-to-end tests kill.
func newPluginConnectCmd(a *app) *cobra.Command {
	var baud int
	var rtscts bool
	cmd := &cobra.Command{
		Use:   "connect <transport> <address>",
		Short: "Copy stdin to a target and the target to stdout, through a transport plugin",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			host, _, err := a.host()
			if err != nil {
				return err
			}
			defer host.Close()
			c, err := host.Start(ctx, args[0])
			if err != nil {
				return err
			}
			conn, err := c.Open(ctx, plugin.OpenRequest{Address: args[1], Baud: baud, FlowControl: rtscts})
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()
			a.log.WithField("pid", c.Pid()).Infof("connected to %s through %s", args[1], args[0])

			errc := make(chan error, 2)
			go func() {
				err := a.stream(conn)
				if err == nil {
					err = io.EOF // the transport closed the stream cleanly
				}
				errc <- err
			}()
			go func() {
				_, err := io.Copy(conn, a.stdin)
				if err == nil {
					err = io.EOF // stdin ended: done
				}
				errc <- err
			}()
			select {
			case err := <-errc:
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	}
	cmd.Flags().IntVar(&baud, "baud", 0, "line speed (0: the transport's default)")
	cmd.Flags().BoolVar(&rtscts, "rtscts", false, "RTS/CTS hardware flow control")
	return cmd
}
