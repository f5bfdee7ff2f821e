package serialio

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"go.bug.st/serial"
)

func TestKindOfCoversEveryCode(t *testing.T) {
	want := map[serial.PortErrorCode]error{
		serial.PortBusy:               ErrBusy,
		serial.PortNotFound:           ErrNotFound,
		serial.InvalidSerialPort:      ErrNotSerial,
		serial.PermissionDenied:       ErrPermission,
		serial.InvalidSpeed:           ErrInvalidConfig,
		serial.InvalidDataBits:        ErrInvalidConfig,
		serial.InvalidParity:          ErrInvalidConfig,
		serial.InvalidStopBits:        ErrInvalidConfig,
		serial.InvalidTimeoutValue:    ErrInvalidConfig,
		serial.ErrorEnumeratingPorts:  errUnknown,
		serial.PortClosed:             ErrClosed,
		serial.FunctionNotImplemented: ErrNotSerial,
	}
	for code, w := range want {
		if got := kindOf(code); got != w {
			t.Errorf("kindOf(%d) = %v, want %v", code, got, w)
		}
	}
}

func TestTranslate(t *testing.T) {
	// The zero PortError is the only one constructible outside go.bug.st/serial; its code is PortBusy.
	busy := fmt.Errorf("wrapped: %w", &serial.PortError{})
	for _, tc := range []struct {
		in   error
		want error
	}{
		{busy, ErrBusy},
		{&fs.PathError{Op: "open", Path: "/dev/x", Err: syscall.ENOENT}, ErrNotFound},
		{syscall.ENOENT, ErrNotFound},
		{syscall.EACCES, ErrPermission},
	} {
		if got := translate(tc.in); !errors.Is(got, tc.want) {
			t.Errorf("translate(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, gone := range goneErrnos {
		if got := translateRead(gone); !errors.Is(got, ErrDisconnected) {
			t.Errorf("translateRead(%v) = %v, want ErrDisconnected", gone, got)
		}
	}
}
