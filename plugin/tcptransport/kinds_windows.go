package tcptransport

import "golang.org/x/sys/windows"

// Go's syscall.ECONNREFUSED and ECONNRESET are numbers of its own on Windows; the net package
// returns Winsock's.
var (
	refusedOS = []error{windows.WSAECONNREFUSED}
	hungUpOS  = []error{windows.WSAECONNRESET, windows.WSAECONNABORTED}
)
