//go:build !windows

package tcptransport

var refusedOS, hungUpOS []error
