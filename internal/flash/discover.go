package flash

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Build is what a Zephyr/NCS build directory says about flashing.
type Build struct {
	Dir string
	// Hex is the image to program.
	Hex string
	// From says how Hex was found, relative to Dir: "zephyr/runners.yaml" (its hex_file),
	// "<domain>/zephyr/runners.yaml" for a sysbuild build, "merged.hex", "zephyr/merged.hex",
	// "<domain>/zephyr/zephyr.hex" or "zephyr/zephyr.hex".
	From string
	// FlashRunner is runners.yaml's flash-runner (west's default runner), if any.
	FlashRunner string
	// Domain is the sysbuild domain whose runners.yaml was read (domains.yaml's default), or
	// empty for a build without sysbuild.
	Domain string
	// DomainDir is that domain's build directory.
	DomainDir string
}

// ErrNoHex: the build directory has no image nrfprov knows where to find.
var ErrNoHex = errors.New("flash: no image in the build directory")

type runnersYAML struct {
	FlashRunner string `yaml:"flash-runner"`
	Config      struct {
		HexFile string `yaml:"hex_file"`
	} `yaml:"config"`
}

// domainsYAML is sysbuild's domains.yaml (Zephyr scripts/pylib/build_helpers/domains.py).
type domainsYAML struct {
	Default  string `yaml:"default"`
	BuildDir string `yaml:"build_dir"`
	Domains  []struct {
		Name     string `yaml:"name"`
		BuildDir string `yaml:"build_dir"`
	} `yaml:"domains"`
	FlashOrder []string `yaml:"flash_order"`
}

// sysbuildDomain reads DIR/domains.yaml: the default domain's name and build directory. ok is
// false when there is no domains.yaml (a build without sysbuild). Relative paths are resolved
// as west does: the top build_dir against the file's directory, each domain's against the top.
// An absolute build_dir that no longer exists (the build directory was moved or copied) falls
// back to DIR/<domain>, where sysbuild puts each domain.
func sysbuildDomain(dir string) (name, domainDir string, ok bool, err error) {
	p := filepath.Join(dir, "domains.yaml")
	raw, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	var d domainsYAML
	if err := yaml.Unmarshal(raw, &d); err != nil {
		return "", "", true, fmt.Errorf("%s: %w", p, err)
	}
	if d.Default == "" || len(d.Domains) == 0 {
		return "", "", true, fmt.Errorf("%s: want `default:` and `domains:` (a sysbuild domains file)", p)
	}
	top := d.BuildDir
	if top == "" || !filepath.IsAbs(top) {
		top = filepath.Join(dir, top)
	}
	var names []string
	for _, dom := range d.Domains {
		names = append(names, dom.Name)
		if dom.Name != d.Default {
			continue
		}
		bd := dom.BuildDir
		if bd == "" {
			bd = dom.Name
		}
		if !filepath.IsAbs(bd) {
			bd = filepath.Join(top, bd)
		}
		if _, err := os.Stat(bd); err != nil {
			bd = filepath.Join(dir, dom.Name)
		}
		return dom.Name, bd, true, nil
	}
	return "", "", true, fmt.Errorf("%s: the default domain %q is not among its domains (%s)", p, d.Default, strings.Join(names, ", "))
}

// DiscoverHex finds the image of a build directory (rtt-jlink-plugins.md §2.7) as west flash
// does. A sysbuild build (NCS 2.7 and later by default) has DIR/domains.yaml: the default
// domain's <domain>/zephyr/runners.yaml gives the runner and the hex_file, else the top-level
// merged.hex, else the domain's zephyr/zephyr.hex. Without sysbuild: the hex_file of
// zephyr/runners.yaml, then merged.hex, zephyr/merged.hex (NCS multi-image before sysbuild),
// zephyr/zephyr.hex (plain Zephyr).
func DiscoverHex(dir string) (Build, error) {
	b := Build{Dir: dir}
	st, err := os.Stat(dir)
	if err != nil {
		return b, fmt.Errorf("%w: build directory: %w", ErrNoHex, err)
	}
	if !st.IsDir() {
		return b, fmt.Errorf("%w: build directory %s is not a directory", ErrNoHex, dir)
	}
	dom, domDir, sysbuild, err := sysbuildDomain(dir)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrNoHex, err)
	}
	imageDir := dir
	candidates := []string{"merged.hex", "zephyr/merged.hex", "zephyr/zephyr.hex"}
	if sysbuild {
		b.Domain, b.DomainDir = dom, domDir
		imageDir = domDir
		rel := func(p string) string {
			if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r)
			}
			return p
		}
		candidates = []string{"merged.hex", rel(filepath.Join(domDir, "zephyr", "zephyr.hex"))}
	}
	ry := filepath.Join(imageDir, "zephyr", "runners.yaml")
	raw, err := os.ReadFile(ry)
	switch {
	case err == nil:
		var r runnersYAML
		if err := yaml.Unmarshal(raw, &r); err != nil {
			return b, fmt.Errorf("%w: %s: %w", ErrNoHex, ry, err)
		}
		b.FlashRunner = r.FlashRunner
		if r.Config.HexFile != "" {
			hex := r.Config.HexFile
			if !filepath.IsAbs(hex) {
				// Relative paths in runners.yaml are relative to the file's own directory.
				hex = filepath.Join(filepath.Dir(ry), hex)
			}
			if _, err := os.Stat(hex); err != nil {
				return b, fmt.Errorf("%w: %s names hex_file %s: %w (build the application first)", ErrNoHex, ry, r.Config.HexFile, err)
			}
			b.Hex = hex
			b.From, _ = filepath.Rel(dir, ry)
			b.From = filepath.ToSlash(b.From)
			return b, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return b, fmt.Errorf("%w: %w", ErrNoHex, err)
	}
	for _, c := range candidates {
		p := c
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(c))
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			b.Hex, b.From = p, c
			return b, nil
		}
	}
	what := "zephyr/runners.yaml with a hex_file"
	if sysbuild {
		what = fmt.Sprintf("%s/zephyr/runners.yaml (the default domain %s) with a hex_file", domDir, dom)
	}
	return b, fmt.Errorf("%w: %s has no %s, nor any of %s (build the application first, or pass the image itself)",
		ErrNoHex, dir, what, strings.Join(candidates, ", "))
}
