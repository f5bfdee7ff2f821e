package serialio

import (
	"errors"
	"fmt"
)

func isGoneErrno(error) bool { return false }

func isPTY(string) (bool, error) { return false, nil }

type termiosHandle struct{}

func openTermios(path string) (*termiosHandle, error) {
	return nil, fmt.Errorf("%w: RTS/CTS on %s: %w", ErrInvalidConfig, path, errors.ErrUnsupported)
}

func (*termiosHandle) close() {}

func (*termiosHandle) setFlowControl(bool) error { return errors.ErrUnsupported }
