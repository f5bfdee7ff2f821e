//go:build !linux

package sim

import (
	"errors"
	"fmt"
	"runtime"
)

// errNoPTY says why a board cannot have a pseudo-terminal VCOM here.
var errNoPTY = fmt.Errorf("sim: a virtual board's serial port is a pseudo-terminal only on Linux, not on %s: give the board a socket instead (BoardConfig.Listen, nrfsim --listen tcp:127.0.0.1:0) and reach it with nrfprov's tcp transport: %w",
	runtime.GOOS, errors.ErrUnsupported)

// openVCOM has no pseudo-terminal to create outside Linux.
func openVCOM(string) (*vcom, error) { return nil, errNoPTY }

// hostSpeed is unknown on a socket: the line_speed fault never garbles here.
func (v *vcom) hostSpeed() int { return 0 }
