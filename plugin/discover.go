package plugin

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
)

// ExecutablePrefix starts the file name of every external transport.
const ExecutablePrefix = "nrfprov-transport-"

// EnvPluginDir names a directory searched for external transports.
const EnvPluginDir = "NRFPROV_PLUGIN_DIR"

// Source says where a transport was found.
type Source string

const (
	SourceBuiltin   Source = "builtin"    // served by the nrfprov binary itself
	SourceBeside    Source = "beside"     // next to the nrfprov binary
	SourcePluginDir Source = "plugin-dir" // in $NRFPROV_PLUGIN_DIR
	SourcePath      Source = "path"       // on $PATH
)

// Found is a transport that discovery found.
type Found struct {
	Name string `json:"name"`
	// Path is the executable: the nrfprov binary for built-ins.
	Path   string `json:"path"`
	Source Source `json:"source"`
	// Shadowed lists executables of the same name found later in the search
	// order, which are ignored.
	Shadowed []string `json:"shadowed,omitempty"`
}

// Builtin reports whether the transport is served by nrfprov itself.
func (f Found) Builtin() bool { return f.Source == SourceBuiltin }

// DiscoverConfig is where to look. Discover takes no configuration from the
// environment itself, so callers (and tests) say exactly what is searched.
type DiscoverConfig struct {
	// Self is the nrfprov executable: it serves the built-ins, and its
	// directory is searched first.
	Self string
	// Builtins are the transports Self serves ("serial").
	Builtins []string
	// PluginDir is $NRFPROV_PLUGIN_DIR (may be empty).
	PluginDir string
	// PathList is $PATH.
	PathList string
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Discover lists the transports: built-ins first, then executables named
// nrfprov-transport-<name> next to Self, in PluginDir, then on PathList. The
// first one of a name wins; a built-in always wins over an external of the
// same name. The result is sorted by name.
func Discover(cfg DiscoverConfig) ([]Found, error) {
	byName := map[string]*Found{}
	var order []string
	add := func(name, path string, src Source) {
		if f, ok := byName[name]; ok {
			if f.Path != path && !slices.Contains(f.Shadowed, path) {
				f.Shadowed = append(f.Shadowed, path)
			}
			return
		}
		byName[name] = &Found{Name: name, Path: path, Source: src}
		order = append(order, name)
	}
	for _, b := range cfg.Builtins {
		add(b, cfg.Self, SourceBuiltin)
	}
	type dir struct {
		path string
		src  Source
	}
	var dirs []dir
	if cfg.Self != "" {
		dirs = append(dirs, dir{filepath.Dir(cfg.Self), SourceBeside})
	}
	if cfg.PluginDir != "" {
		dirs = append(dirs, dir{cfg.PluginDir, SourcePluginDir})
	}
	for _, p := range filepath.SplitList(cfg.PathList) {
		if p != "" {
			dirs = append(dirs, dir{p, SourcePath})
		}
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		abs, err := filepath.Abs(d.path)
		if err != nil {
			continue
		}
		key := abs // one directory under two names (/bin and /usr/bin) is read once
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			key = real
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		names, err := dirNames(abs)
		if err != nil {
			continue // a missing or unreadable PATH entry is normal
		}
		for _, file := range names {
			name, ok := transportName(file)
			if !ok {
				continue
			}
			path := filepath.Join(abs, file)
			if !isExecutable(path) {
				continue
			}
			add(name, path, d.src)
		}
	}
	slices.Sort(order)
	out := make([]Found, 0, len(order))
	for _, n := range order {
		out = append(out, *byName[n])
	}
	return out, nil
}

// dirNames lists a directory's names, unsorted: PATH holds directories of thousands of files,
// of which nrfprov wants the few named nrfprov-transport-*, and names within a directory are
// unique, so their order decides nothing.
func dirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// transportName extracts <name> from nrfprov-transport-<name>[.exe].
func transportName(file string) (string, bool) {
	if runtime.GOOS == "windows" {
		file = strings.TrimSuffix(strings.ToLower(file), ".exe")
	}
	name, ok := strings.CutPrefix(file, ExecutablePrefix)
	if !ok || !nameRE.MatchString(name) {
		return "", false
	}
	return name, true
}

func isExecutable(path string) bool {
	st, err := os.Stat(path) // follows symlinks
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	if runtime.GOOS == "windows" {
		// Windows runs only what its name says is a program: a nrfprov-transport-tcp copied
		// from a Linux archive beside nrfprov-transport-tcp.exe is not a transport.
		return strings.EqualFold(filepath.Ext(path), ".exe")
	}
	return st.Mode().Perm()&0o111 != 0
}

// Lookup returns the transport called name, or an error matching
// ErrUnknownTransport that lists what was found.
func Lookup(found []Found, name string) (Found, error) {
	for _, f := range found {
		if f.Name == name {
			return f, nil
		}
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.Name
	}
	return Found{}, fmt.Errorf("plugin: transport %q: %w (found: %s)", name, ErrUnknownTransport, strings.Join(names, ", "))
}
