package plugin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
)

// ServeArgs are the arguments with which the nrfprov binary serves one of its
// built-in transports: `nrfprov plugin serve <name>`.
func ServeArgs(name string) []string { return []string{"plugin", "serve", name} }

// HostConfig configures a Host.
type HostConfig struct {
	// Found is what Discover returned.
	Found []Found
	// Pins are the pinned checksums of external transports (Pins).
	Pins Checksums
	// Log receives go-plugin's messages and the plugins' own logs, each with
	// a "transport" field. Nil discards them.
	Log *logrus.Entry
	// StartTimeout bounds a plugin's start-up handshake (default 10 s).
	StartTimeout time.Duration
}

// Host launches transport plugins as child processes and kills them.
type Host struct {
	cfg HostConfig

	mu      sync.Mutex
	clients []*Client
	closed  bool
}

// NewHost returns a Host. Call Close on every exit path.
func NewHost(cfg HostConfig) *Host {
	if cfg.Log == nil {
		cfg.Log = DiscardLog()
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	return &Host{cfg: cfg}
}

// Client is a running transport plugin. It is a Transport (and a
// TargetLister); its Conns are *Stream values.
type Client struct {
	name   string
	path   string
	pinned []byte // the SHA-256 the executable must have; nil for built-ins
	info   Info
	gp     *goplugin.Client
	tr     *grpcClient
}

var _ Transport = (*Client)(nil)

// Start launches the transport called name and describes it. External
// transports must match their pinned SHA-256 (ErrNotLocked,
// *ChecksumMismatchError otherwise). The process runs with mutual TLS (EnvTLS), dies
// with the host (Pdeathsig on Linux) and is killed by Close. ctx bounds the
// start only.
func (h *Host) Start(ctx context.Context, name string) (*Client, error) {
	f, err := Lookup(h.cfg.Found, name)
	if err != nil {
		return nil, err
	}
	sum, err := Verify(f, h.cfg.Pins)
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	if f.Builtin() {
		cmd = exec.Command(f.Path, ServeArgs(name)...)
	} else {
		cmd = exec.Command(f.Path)
	}
	log := h.cfg.Log.WithField("transport", name)
	// go-plugin would append the host environment after ours; we pass it
	// first ourselves so that our values win.
	mtls, err := newMTLS()
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), EnvLogLevel+"="+h.cfg.Log.Logger.GetLevel().String(), mtls.env)
	if err := dieWithParent(cmd); err != nil {
		log.WithError(err).Warn("the plugin may outlive nrfprov if nrfprov is killed")
	}
	cfg := &goplugin.ClientConfig{
		HandshakeConfig: Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{
			ProtocolVersion: {PluginName: &GRPCPlugin{Name: name}},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		TLSConfig:        mtls.config, // mutual TLS with one-time P-256 keys (EnvTLS)
		Managed:          true,
		SkipHostEnv:      true,
		StartTimeout:     h.cfg.StartTimeout,
		Logger:           NewHCLogger(log),
	}
	if sum != nil {
		// go-plugin hashes the file again right before exec.
		cfg.SecureConfig = &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("plugin: start %s: host is closed: %w", name, ErrClosed)
	}
	gp := goplugin.NewClient(cfg)
	c := &Client{name: name, path: f.Path, pinned: sum, gp: gp}
	h.clients = append(h.clients, c)
	h.mu.Unlock()

	if err := c.start(ctx); err != nil {
		gp.Kill()
		return nil, err
	}
	log.WithFields(logrus.Fields{"pid": c.Pid(), "version": c.info.Version}).Debug("transport started")
	return c, nil
}

func (c *Client) start(ctx context.Context) error {
	type result struct {
		cp  goplugin.ClientProtocol
		err error
	}
	done := make(chan result, 1)
	go func() {
		cp, err := c.gp.Client()
		done <- result{cp, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		c.gp.Kill() // ends the handshake wait
		<-done
		return fmt.Errorf("plugin: start %s: %w", c.name, ctx.Err())
	}
	if r.err != nil {
		return c.startErr(r.err)
	}
	raw, err := r.cp.Dispense(PluginName)
	if err != nil {
		return fmt.Errorf("plugin: start %s: dispense: %w", c.name, err)
	}
	c.tr = raw.(*grpcClient)
	info, err := c.tr.Describe(ctx)
	if err != nil {
		return err
	}
	if info.Name != c.name {
		return fmt.Errorf("plugin: %s describes itself as transport %q: %w", c.path, info.Name, ErrProtocol)
	}
	c.info = info
	return nil
}

func (c *Client) startErr(err error) error {
	switch {
	case errors.Is(err, goplugin.ErrChecksumsDoNotMatch):
		// The file changed between our check and go-plugin's, just before exec.
		got, _ := FileSHA256(c.path)
		return &ChecksumMismatchError{Transport: c.name, Path: c.path, Want: c.pinned, Got: got}
	case strings.Contains(err.Error(), "incompatible API version"):
		// go-plugin has no sentinel for this; its text is stable since v1.0.
		return fmt.Errorf("plugin: start %s (%s): host speaks protocol %d: %w: %w",
			c.name, c.path, ProtocolVersion, ErrIncompatible, err)
	default:
		return fmt.Errorf("plugin: start %s (%s): %w", c.name, c.path, err)
	}
}

// Name is the transport's name.
func (c *Client) Name() string { return c.name }

// Path is the executable that was started.
func (c *Client) Path() string { return c.path }

// Info is what the plugin said about itself at start.
func (c *Client) Info() Info { return c.info }

// NegotiatedVersion is the protocol version agreed in the handshake.
func (c *Client) NegotiatedVersion() int { return c.gp.NegotiatedVersion() }

// Pid is the plugin's process ID (0 if it is not running).
func (c *Client) Pid() int {
	pid, _ := strconv.Atoi(c.gp.ID())
	return pid
}

// Exited reports whether the plugin process has exited.
func (c *Client) Exited() bool { return c.gp.Exited() }

// Describe asks the running plugin to describe itself again.
func (c *Client) Describe(ctx context.Context) (Info, error) { return c.tr.Describe(ctx) }

// Open opens a target; see Transport.
func (c *Client) Open(ctx context.Context, req OpenRequest) (Conn, error) { return c.tr.Open(ctx, req) }

// ListTargets lists the transport's targets; it returns an error matching
// ErrNotSupported when the transport cannot.
func (c *Client) ListTargets(ctx context.Context) ([]Target, error) { return c.tr.ListTargets(ctx) }

// Kill stops the plugin: a graceful shutdown request, then SIGKILL after 2 s.
// It blocks until the process is gone and is idempotent.
func (c *Client) Kill() { c.gp.Kill() }

// Close kills every plugin the host started, in parallel, and refuses
// further starts. It is idempotent.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	clients := h.clients
	h.clients = nil
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(c.Kill)
	}
	wg.Wait()
}
