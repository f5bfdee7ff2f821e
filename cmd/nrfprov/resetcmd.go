package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// commandResetter resets the board by running a command (a flash tool's reset, --reset-cmd),
// never through a shell. {sn} and {port} in its arguments are replaced.
type commandResetter struct {
	argv     []string
	sn, port string
	log      io.Writer // the command's output (stderr, prefixed per board)
}

func (c commandResetter) Reset(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	args := make([]string, len(c.argv))
	for i, a := range c.argv {
		args[i] = strings.NewReplacer("{sn}", c.sn, "{port}", c.port).Replace(a)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("reset command %q: %w", strings.Join(args, " "), err)
	}
	return nil
}

// splitCommand splits a command line into arguments: spaces separate, single and double quotes
// group, a backslash outside single quotes keeps the next character (not on Windows, where it
// separates folders: see backslashEscapes). No shell is involved.
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\\' && backslashEscapes && i+1 < len(rs):
			i++
			cur.WriteRune(rs[i])
			inArg = true
		case quote == '"':
			if c == '"' {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ' || c == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}
