package main

import (
	"slices"
	"testing"
)

// On Windows a --reset-cmd names programs and files by their Windows paths: backslashes are
// folder separators, quotes group an argument with spaces.
func TestSplitCommandWindowsPaths(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`"C:\Program Files\SEGGER\JLink\JLink.exe" -USB {sn} -CommandFile "C:\Users\me\my resets\reset.jlink"`,
			[]string{`C:\Program Files\SEGGER\JLink\JLink.exe`, "-USB", "{sn}", "-CommandFile", `C:\Users\me\my resets\reset.jlink`}},
		{`C:\tools\nrfjprog.exe --reset --snr {sn}`, []string{`C:\tools\nrfjprog.exe`, "--reset", "--snr", "{sn}"}},
		{`nrfutil.exe device reset --serial-number {sn} --traits jlink`, []string{"nrfutil.exe", "device", "reset", "--serial-number", "{sn}", "--traits", "jlink"}},
		{`\\server\share\reset.exe \\.\COM7`, []string{`\\server\share\reset.exe`, `\\.\COM7`}},
	} {
		got, err := splitCommand(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitCommand(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
