package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/plugin/rtttransport"
	"github.com/nrfprov/nrfprov/plugin/serialtransport"
	"github.com/nrfprov/nrfprov/plugin/tcptransport"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

func nrfprovVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// builtins are the transports this binary serves itself.
var builtins = map[string]func(log *logrus.Entry) plugin.Transport{
	serialtransport.Name: func(log *logrus.Entry) plugin.Transport {
		return serialtransport.New(nrfprovVersion(), log)
	},
	rtttransport.Name: func(log *logrus.Entry) plugin.Transport {
		return rtttransport.New(nrfprovVersion(), log)
	},
	tcptransport.Name: func(log *logrus.Entry) plugin.Transport {
		return tcptransport.New(tcptransport.Name, nrfprovVersion(), log)
	},
}

func builtinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	return names
}

// app holds what every command shares. Flags are bound to its fields by the
// root command; nothing is package-level.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cancel         context.CancelFunc
	forced         chan struct{}

	logLevel  string
	checksums []string
	lockPath  string
	json      bool       // --json: results as one JSON document (printer.go)
	bf        boardFlags // the link flags (flags.go)
	root      *cobra.Command

	log      *logrus.Entry
	progress progress // chosen once in setup (printer.go)
	// secrets reads manifests' env: credentials and takes them out of the environment that
	// child processes (plugins, runners, --reset-cmd) inherit.
	secrets provision.SecretEnv
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, cancel context.CancelFunc) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, cancel: cancel, forced: make(chan struct{}),
		progress: newProgress(stderr, false)}
}

func (a *app) execute(ctx context.Context, args []string) int {
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	err := root.ExecuteContext(ctx)
	a.progress.end()
	if err == nil {
		return exitOK
	}
	a.printError(err, hintsFor(err, a.link()))
	return exitFor(err)
}

// link is the link in use, for the hints.
func (a *app) link() link { return link{transport: a.bf.transport, dialect: a.bf.dialect} }

// setup runs before every command except the plugin server.
func (a *app) setup(cmd *cobra.Command) error {
	a.progress = newProgress(a.stderr, a.json)
	if err := a.checkLinkFlags(cmd); err != nil {
		return err
	}
	lvl, err := logrus.ParseLevel(a.logLevel)
	if err != nil {
		return usageError{fmt.Errorf("--log-level %q: %w", a.logLevel, err)}
	}
	l := logrus.New()
	l.SetOutput(a.progress.w) // above the progress bars while there are any
	l.SetLevel(lvl)
	a.log = logrus.NewEntry(l)
	a.watchInterrupts()
	return nil
}

// watchInterrupts: the first Ctrl-C (or SIGTERM) cancels the command's
// context, which closes streams and kills plugins on the way out; the second
// forces the exit.
func (a *app) watchInterrupts() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go interrupts(sig, a.cancel, a.forced, a.log)
}

func interrupts(sig <-chan os.Signal, cancel func(), forced chan<- struct{}, log *logrus.Entry) {
	s := <-sig
	log.Warnf("%v: stopping; interrupt again to force", s)
	cancel()
	s = <-sig
	log.Errorf("%v again: forcing exit", s)
	close(forced)
}

func defaultLockPath() string {
	if p := os.Getenv("NRFPROV_PLUGIN_LOCK"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "nrfprov", "transports.lock")
}

// discover finds the transports the way nrfprov always does.
func (a *app) discover() ([]plugin.Found, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate the nrfprov executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	return plugin.Discover(plugin.DiscoverConfig{
		Self:      self,
		Builtins:  builtinNames(),
		PluginDir: os.Getenv(plugin.EnvPluginDir),
		PathList:  os.Getenv("PATH"),
	})
}

// host discovers the transports and returns a Host with the pins from the
// lock file and --plugin-checksum. The caller closes it.
func (a *app) host() (*plugin.Host, []plugin.Found, error) {
	found, err := a.discover()
	if err != nil {
		return nil, nil, err
	}
	lf, err := plugin.ReadLockFile(a.lockPath)
	if err != nil {
		return nil, nil, err
	}
	pins, err := plugin.Pins(lf, a.checksums)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return plugin.NewHost(plugin.HostConfig{Found: found, Pins: pins, Log: a.log}), found, nil
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "nrfprov",
		Short:         "Provision TLS credentials into nRF91 modems",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Annotations[annotationPluginServer] != "" {
				return nil
			}
			return a.setup(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.logLevel, "log-level", cmp.Or(os.Getenv("NRFPROV_LOG_LEVEL"), "warning"),
		"log level: trace, debug, info, warning, error (env NRFPROV_LOG_LEVEL)")
	pf.StringArrayVar(&a.checksums, "plugin-checksum", nil,
		"pin an external transport: <name>=<sha256 hex> (repeatable; overrides the lock file)")
	pf.StringVar(&a.lockPath, "plugin-lock", defaultLockPath(),
		"transport lock file (env NRFPROV_PLUGIN_LOCK)")
	pf.BoolVar(&a.json, "json", false, "print results as JSON (versioned, see docs/json.md)")
	a.root = root
	a.addBoardFlags(root)
	root.SetHelpFunc(a.linkFlagsHelp(root.HelpFunc()))
	root.AddCommand(a.newTransportsCmd(), a.newPluginCmd(), a.newVersionCmd(), a.newPortsCmd())
	root.AddCommand(a.newInfoCmd(), a.newIMEICmd(), a.newAttokenCmd())
	root.AddCommand(a.newListCmd(), a.newReadCmd(), a.newWriteCmd(), a.newDeleteCmd(), a.newDeleteAllCmd(), a.newGenerateCmd())
	root.AddCommand(a.newPlanCmd(), a.newProvisionCmd(), a.newDemoCmd())
	root.AddCommand(a.newFlashCmd(), a.newResetCmd())
	root.AddCommand(a.newIdentityCmd(), a.newModemFirmwareCmd())
	root.AddCommand(a.newDoctorCmd())
	for _, c := range extraCommands {
		root.AddCommand(c(a))
	}
	addExamples(root)
	a.addCompletions(root)
	return root
}

const annotationPluginServer = "plugin-server"

// extraCommands are added by files built with a tag (man.go: -tags mangen).
var extraCommands []func(*app) *cobra.Command
