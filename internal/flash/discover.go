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
	// From says how Hex was found: "runners.yaml", "merged.hex", "zephyr/merged.hex" or
	// "zephyr/zephyr.hex".
	From string
	// FlashRunner is runners.yaml's flash-runner (west's default runner), if any.
	FlashRunner string
}

// ErrNoHex: the build directory has no image nrfprov knows where to find.
var ErrNoHex = errors.New("flash: no image in the build directory")

type runnersYAML struct {
	FlashRunner string `yaml:"flash-runner"`
	Config      struct {
		HexFile string `yaml:"hex_file"`
	} `yaml:"config"`
}

// DiscoverHex finds the image of a build directory (rtt-jlink-plugins.md §2.7): the hex_file of
// zephyr/runners.yaml first (what west flash programs), then merged.hex (NCS with sysbuild),
// zephyr/merged.hex (NCS multi-image before sysbuild), zephyr/zephyr.hex (plain Zephyr).
func DiscoverHex(dir string) (Build, error) {
	b := Build{Dir: dir}
	st, err := os.Stat(dir)
	if err != nil {
		return b, fmt.Errorf("%w: build directory: %w", ErrNoHex, err)
	}
	if !st.IsDir() {
		return b, fmt.Errorf("%w: build directory %s is not a directory", ErrNoHex, dir)
	}
	ry := filepath.Join(dir, "zephyr", "runners.yaml")
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
			b.Hex, b.From = hex, "runners.yaml"
			return b, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return b, fmt.Errorf("%w: %w", ErrNoHex, err)
	}
	candidates := []string{"merged.hex", "zephyr/merged.hex", "zephyr/zephyr.hex"}
	for _, c := range candidates {
		p := filepath.Join(dir, filepath.FromSlash(c))
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			b.Hex, b.From = p, c
			return b, nil
		}
	}
	return b, fmt.Errorf("%w: %s has no zephyr/runners.yaml with a hex_file, nor any of %s (build the application first, or pass the image itself)",
		ErrNoHex, dir, strings.Join(candidates, ", "))
}
