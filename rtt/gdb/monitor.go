package gdb

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrUnknownCommand: the server ran no such monitor command. Servers say so in the console
// output and still answer OK (QEMU's gdbstub: "unknown command: 'go'"), or answer an error
// after it (OpenOCD: `invalid command name "go"`), so the output has to be read.
var ErrUnknownCommand = errors.New("gdb: unknown monitor command")

var unknownCommand = regexp.MustCompile(`(?i)unknown (monitor )?command|invalid command name|command not found|unrecognized command`)

// MonitorCommand runs a monitor command like Monitor and fails with ErrUnknownCommand when the
// server's output says it knows no such command.
func (c *Client) MonitorCommand(ctx context.Context, cmd string) (string, error) {
	out, err := c.Monitor(ctx, cmd)
	if unknownCommand.MatchString(out) {
		return out, fmt.Errorf("%w: monitor %s: %s", ErrUnknownCommand, cmd, strings.TrimSpace(out))
	}
	return out, err
}
