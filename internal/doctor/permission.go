package doctor

import (
	"errors"
	"fmt"
)

// ErrNotChecked: this system has no way to check a port without opening it.
var ErrNotChecked = errors.New("access not checked on this system")

// PermissionError: this user may not open the port.
type PermissionError struct {
	Path  string
	Group string // the group that owns the port (dialout on Debian and Ubuntu, uucp on Arch)
	User  string
	// InGroup: the user is in Group already, but this login session does not have it yet.
	InGroup bool
}

func (e *PermissionError) Error() string {
	if e.Group == "" {
		return fmt.Sprintf("%s: this user may not open it", e.Path)
	}
	return fmt.Sprintf("%s: this user may not open it (it belongs to group %s)", e.Path, e.Group)
}

// Fix says what to do.
func (e *PermissionError) Fix() string {
	switch {
	case e.Group == "":
		return "ask the administrator for read and write access to the port"
	case e.InGroup:
		return fmt.Sprintf("you are in group %s, but this session started before: log out and in again (or run `newgrp %s`)", e.Group, e.Group)
	default:
		u := e.User
		if u == "" {
			u = "$USER"
		}
		return fmt.Sprintf("run `sudo usermod -aG %s %s`, then log out and in again", e.Group, u)
	}
}
