package main

// Flag groups. The link flags (which board, how to talk to it) are parsed wherever they stand on
// the command line (`nrfprov --port P info` and `nrfprov info --port P` both work, as documented),
// but only the verbs that open a board take them; every other verb refuses them with exit 2.
//
// A new verb that opens a board: return opensBoard(cmd) from its constructor. One that only
// drives the probe (flash runners): usesProbe(cmd). Anything else gets no annotation and refuses
// link flags. --json, --log-level and the plugin flags are global.

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/serialio"
)

// boardFlags are the link flags: which board to talk to and how.
type boardFlags struct {
	port          string
	board         string
	boards        []string // every --board given (provision and plan take several)
	transport     string
	baud          int
	baudSet       bool // a manifest's board.baud was applied (the flag's own is flagSet)
	rtscts        bool
	term          string
	dialect       string
	traceWire     bool
	allowReserved bool
	keepCFUN      bool
	transportOpts map[string]string
	lineLimit     int
	latency       time.Duration
}

// probeFlags are the link flags a flash runner uses to find the probe.
var probeFlags = []string{"port", "board", "transport"}

// linkFlags is every link flag.
var linkFlags = append(append([]string{}, probeFlags...),
	"transport-opt", "baud", "rtscts", "term", "dialect", "trace-wire", "allow-reserved", "keep-cfun", "line-limit", "modem-latency")

const annotationFlags = "nrfprov/link-flags"

// opensBoard marks a verb that opens a board: it takes every link flag.
func opensBoard(cmd *cobra.Command) *cobra.Command { return takes(cmd, linkFlags) }

// usesProbe marks a verb that drives the probe through a flash runner: --board, --port, --transport.
func usesProbe(cmd *cobra.Command) *cobra.Command { return takes(cmd, probeFlags) }

func takes(cmd *cobra.Command, names []string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationFlags] = strings.Join(names, ",")
	return cmd
}

func (a *app) addBoardFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	f := &a.bf
	pf.StringVar(&f.port, "port", "", "the board's port (a path for serial, host:port for tcp); default: the one connected board")
	pf.Var(boardList{f}, "board", "select the board by its J-Link serial number (leading zeros optional); provision and plan take several (repeat it, or comma-separate)")
	pf.StringVar(&f.transport, "transport", "serial", "transport plugin: serial, tcp, or any nrfprov-transport-<name>")
	pf.StringToStringVar(&f.transportOpts, "transport-opt", nil, "a transport setting key=value, repeatable (rtt: backend, up, down, poll, halt, channel, addr, search, gdb, rtt_port, require_reset; see docs/transport-plugins.md)")
	pf.IntVar(&f.baud, "baud", serialio.DefaultBaud, "line speed in bit/s (8N1)")
	pf.BoolVar(&f.rtscts, "rtscts", false, "RTS/CTS hardware flow control")
	pf.StringVar(&f.term, "term", "auto", "command terminator: auto, cr, lf, crlf, nul")
	pf.StringVar(&f.dialect, "dialect", "auto", "AT dialect: auto, raw (at_client, SLM) or shell (modem_shell `at` command)")
	pf.BoolVar(&f.traceWire, "trace-wire", false, "log every byte on the link with timestamps (keys and PSKs as their SHA-256)")
	pf.BoolVar(&f.allowReserved, "allow-reserved", false, "allow sec_tags above 2147483647 (the modem's reserved range)")
	pf.BoolVar(&f.keepCFUN, "keep-cfun", false, "do not switch the modem to CFUN=4 around writes and deletes")
	pf.IntVar(&f.lineLimit, "line-limit", 0, "the device's AT line limit (default: 4095 raw, 3584 shell)")
	pf.DurationVar(&f.latency, "modem-latency", 2*time.Second, "how long the modem may take to answer a command, on top of the wire time")
}

// takesLinkFlags are the link flags cmd takes.
func takesLinkFlags(cmd *cobra.Command) map[string]bool {
	allowed := map[string]bool{}
	for _, n := range strings.Split(cmd.Annotations[annotationFlags], ",") {
		allowed[n] = true
	}
	return allowed
}

// checkLinkFlags refuses link flags on a verb that does not take them.
func (a *app) checkLinkFlags(cmd *cobra.Command) error {
	allowed := takesLinkFlags(cmd)
	for _, n := range linkFlags {
		if f := a.root.PersistentFlags().Lookup(n); f != nil && f.Changed && !allowed[n] {
			return usagef("--%s means nothing to `%s`: the link flags go with the verbs that open a board (info, list, provision, …)", n, cmd.CommandPath())
		}
	}
	return nil
}

// linkFlagsHelp wraps the help so that a verb's help lists only the link flags it takes (the
// root's lists them all).
func (a *app) linkFlagsHelp(help func(*cobra.Command, []string)) func(*cobra.Command, []string) {
	return func(cmd *cobra.Command, args []string) {
		if cmd != a.root {
			allowed := takesLinkFlags(cmd)
			for _, n := range linkFlags {
				if f := a.root.PersistentFlags().Lookup(n); f != nil && !allowed[n] && !f.Hidden {
					f.Hidden = true
					defer func() { f.Hidden = false }()
				}
			}
		}
		help(cmd, args)
	}
}

// flagSet reports whether a link flag was given on the command line.
func (a *app) flagSet(name string) bool {
	f := a.root.PersistentFlags().Lookup(name)
	return f != nil && f.Changed
}

// boardList is the repeatable --board flag: the first value is the board of every verb, all of
// them the boards of a multi-board provision.
type boardList struct{ f *boardFlags }

func (b boardList) String() string { return strings.Join(b.f.boards, ",") }
func (b boardList) Type() string   { return "serial" }
func (b boardList) Set(v string) error {
	for _, sn := range strings.Split(v, ",") {
		sn = strings.TrimSpace(sn)
		if sn == "" {
			return errors.New("empty serial number")
		}
		b.f.boards = append(b.f.boards, sn)
	}
	b.f.board = b.f.boards[0]
	return nil
}

// --- positional arguments

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d arguments, got %d (usage: %s)", cmd.CommandPath(), n, len(args), cmd.UseLine())
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d (usage: %s)", cmd.CommandPath(), lo, hi, len(args), cmd.UseLine())
		}
		return nil
	}
}

func parseTag(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, usagef("sec_tag %q: want a number 0..4294967295", s)
	}
	return uint32(v), nil
}

func parseType(s string) (cmng.Type, error) {
	t, err := cmng.ParseType(s)
	if err != nil {
		return 0, usageError{err}
	}
	return t, nil
}

func tagType(args []string) (uint32, cmng.Type, error) {
	tag, err := parseTag(args[0])
	if err != nil {
		return 0, 0, err
	}
	typ, err := parseType(args[1])
	return tag, typ, err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
