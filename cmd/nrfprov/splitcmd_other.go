//go:build !windows

package main

// backslashEscapes: outside Windows a backslash in --reset-cmd keeps the next character, as
// in a POSIX shell ("my\ reset.sh").
const backslashEscapes = true
