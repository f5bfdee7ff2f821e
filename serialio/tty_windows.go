package serialio

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// isGoneErrno reports the errors Windows gives ReadFile and WriteFile on an open COM port
// whose USB device was unplugged: usbser.sys and most USB-UART drivers answer
// ERROR_ACCESS_DENIED (on an open handle it cannot mean permission), others
// ERROR_BAD_COMMAND, ERROR_GEN_FAILURE or ERROR_DEVICE_NOT_CONNECTED.
func isGoneErrno(err error) bool {
	for _, gone := range []error{windows.ERROR_ACCESS_DENIED, windows.ERROR_BAD_COMMAND,
		windows.ERROR_GEN_FAILURE, windows.ERROR_DEVICE_NOT_CONNECTED, windows.ERROR_DEVICE_REMOVED} {
		if errors.Is(err, gone) {
			return true
		}
	}
	return false
}

func isPTY(string) (bool, error) { return false, nil }

type termiosHandle struct{}

func openTermios(path string) (*termiosHandle, error) {
	return nil, fmt.Errorf("%w: RTS/CTS on %s: %w", ErrInvalidConfig, path, errors.ErrUnsupported)
}

func (*termiosHandle) close() {}

func (*termiosHandle) setFlowControl(bool) error { return errors.ErrUnsupported }
