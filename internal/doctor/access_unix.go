//go:build unix

package doctor

import (
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Access reports whether this user may open path for reading and writing (access(2), which
// opens nothing: opening a tty can change its lines).
func Access(path string) error {
	err := unix.Access(path, unix.R_OK|unix.W_OK)
	if err == nil {
		return nil
	}
	if err != unix.EACCES && err != unix.EPERM {
		return fmt.Errorf("%s: %w", path, err)
	}
	pe := &PermissionError{Path: path}
	if st, serr := os.Stat(path); serr == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			gid := strconv.FormatUint(uint64(sys.Gid), 10)
			pe.Group = gid
			if g, err := user.LookupGroupId(gid); err == nil {
				pe.Group = g.Name
			}
			if u, err := user.Current(); err == nil {
				pe.User = u.Username
				if ids, err := u.GroupIds(); err == nil {
					pe.InGroup = slices.Contains(ids, gid)
				}
			}
		}
	}
	return pe
}
