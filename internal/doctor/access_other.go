//go:build !unix

package doctor

import "fmt"

// Access cannot tell on this system without opening the port (which would take it from
// whoever has it): it says so.
func Access(path string) error {
	return fmt.Errorf("%s: %w", path, ErrNotChecked)
}
