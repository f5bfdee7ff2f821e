//go:build unix

package serialio

import "syscall"

// goneErrnos are what the kernel reports on an open tty whose device went away.
var goneErrnos = []error{syscall.EIO, syscall.ENXIO, syscall.ENODEV}
