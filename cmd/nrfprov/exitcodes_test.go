package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nrfprov/nrfprov/internal/at"
	"github.com/nrfprov/nrfprov/internal/cmng"
	"github.com/nrfprov/nrfprov/internal/device"
	"github.com/nrfprov/nrfprov/internal/flash"
	"github.com/nrfprov/nrfprov/internal/provision"
	"github.com/nrfprov/nrfprov/plugin"
	"github.com/nrfprov/nrfprov/serialio"
)

// TestExitCodesMirrorTheDocs: every row of docs/exit-codes.md has an error that exits with it,
// and every code exitFor can give is a row of the document.
func TestExitCodesMirrorTheDocs(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("list: %w", err) }
	cases := []struct {
		code int
		err  error
	}{
		{exitError, errors.New("something unexpected")},
		{exitUsage, usagef("sec_tag %q: want a number", "x")},
		{exitUsage, wrap(&cmng.PreflightError{Fix: "remove the quote"})},
		{exitIntegrity, plugin.WithKind(errors.New("echo"), plugin.ErrNotLocked)},
		{exitIntegrity, plugin.WithKind(errors.New("echo"), plugin.ErrChecksumMismatch)},
		{exitBoard, wrap(device.ErrNoBoard)},
		{exitBoard, wrap(serialio.ErrAmbiguous)},
		{exitBoard, wrap(serialio.ErrNoBoard)},
		{exitBoard, plugin.WithKind(errors.New("/dev/nope"), plugin.ErrNotFound)},
		{exitBoard, wrap(at.ErrNoATHost)},
		{exitTimeout, wrap(at.ErrTimeout)},
		{exitModem, wrap(&cmng.ModemError{Code: 528})},
		{exitModem, wrap(cmng.ErrNotReadable)},
		{exitVerify, wrap(cmng.ErrVerify)},
		{exitVerify, errVerifyFailed},
		{exitTruncated, fmt.Errorf("read: %w: %w", cmng.ErrTruncated, at.ErrTimeout)}, // truncation wins over the timeout it causes
		{exitLink, wrap(at.ErrClosed)},
		{exitLink, plugin.WithKind(errors.New("x"), plugin.ErrTransportExited)},
		{exitLink, plugin.WithKind(errors.New("x"), plugin.ErrDisconnected)},
		{exitLink, plugin.WithKind(errors.New("x"), plugin.ErrBusy)},
		{exitLink, plugin.WithKind(errors.New("x"), plugin.ErrPermission)},
		{exitUnverifiable, errUnverifiable},
		{exitFlash, wrap(flash.ErrNotInstalled)},
		{exitFlash, wrap(flash.ErrRunner)},
		{exitFlash, fmt.Errorf("%w: %w", flash.ErrRunner, flash.ErrProtected)},
		{exitFlash, fmt.Errorf("%w: restoring failed; and before that: %w", provision.ErrLeftOnATClient, &cmng.ModemError{Code: 515})},
		{exitMixed, errBoardsFailed{code: exitMixed, failed: 2, total: 3}},
		{exitModem, errBoardsFailed{code: exitModem, failed: 1, total: 3}},
		{exitInterrupted, wrap(context.Canceled)},
		{exitStorageBroken, wrap(&provision.StorageBrokenError{ModemFirmware: "mfw_nrf9160_1.3.5", Cause: at.ErrTimeout})},
	}
	got := map[int]bool{exitOK: exitFor(nil) == exitOK}
	for _, c := range cases {
		if code := exitFor(c.err); code != c.code {
			t.Errorf("exitFor(%v) = %d, want %d", c.err, code, c.code)
		}
		got[c.code] = true
	}

	doc, err := os.ReadFile("../../docs/exit-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| (\d+) \|`)
	var documented []int
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[1])
		documented = append(documented, n)
		if !got[n] {
			t.Errorf("docs/exit-codes.md documents exit %d, which no error here exits with", n)
		}
	}
	for code := range got {
		if !slices.Contains(documented, code) {
			t.Errorf("exit %d is not documented in docs/exit-codes.md", code)
		}
	}
}

// TestHintsFor: the remedies single- and multi-board runs print, by error.
func TestHintsFor(t *testing.T) {
	for _, c := range []struct {
		err  error
		link link
		want []string // each a substring of one hint, in order
	}{
		{errors.New("x"), link{}, nil},
		{plugin.WithKind(errors.New("x"), plugin.ErrNotLocked), link{}, []string{"transports lock"}},
		{&cmng.ModemError{Code: 528, Hint: "the modem is online"}, link{}, []string{"the modem is online"}},
		{&cmng.PreflightError{Fix: "remove the quote"}, link{}, []string{"remove the quote (nothing was sent to the board)"}},
		{serialio.ErrAmbiguous, link{}, []string{"--board <serial number>"}},
		{at.ErrTimeout, link{transport: "serial"}, []string{"reset the board"}},
		{fmt.Errorf("%w: %w", cmng.ErrTruncated, at.ErrTimeout), link{}, nil},
		{at.ErrNoATHost, link{transport: "serial"}, []string{"stuck inside an open quote", "raise --modem-latency", "no AT host"}},
		{at.ErrNoATHost, link{transport: "rtt"}, []string{"stuck inside an open quote", "raise --modem-latency", "no AT host", "Modem Shell"}},
		{plugin.WithKind(errors.New("x"), plugin.ErrNotFound), link{transport: "serial"}, []string{"--port must name the board's serial device"}},
		{&at.TimeoutError{Cmd: "AT%CMNG=0,1,0,\"…"}, link{transport: "serial"}, []string{"reset the board", "--line-limit"}},
		{plugin.WithKind(errors.New("x"), plugin.ErrNotFound), link{transport: "rtt"}, []string{"RTT control block", "Modem Shell"}},
		{at.ErrTimeout, link{transport: "rtt", dialect: "raw"}, []string{"reset the board", "Modem Shell"}},
		{fmt.Errorf("nrfjprog: %w", flash.ErrProtected), link{}, []string{"--recover"}},
	} {
		hs := hintsFor(c.err, c.link)
		if len(hs) != len(c.want) {
			t.Errorf("hintsFor(%v, %+v) = %q, want %d hints", c.err, c.link, hs, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(hs[i], w) {
				t.Errorf("hintsFor(%v, %+v)[%d] = %q, want it to say %q", c.err, c.link, i, hs[i], w)
			}
		}
	}
}

func TestMultiExit(t *testing.T) {
	for _, c := range []struct {
		codes []int
		want  int
	}{
		{[]int{0, 0, 0}, 0},
		{[]int{0, 6, 0}, 6},
		{[]int{6, 0, 6}, 6},
		{[]int{10, 0}, 10},
		{[]int{6, 0, 4}, exitMixed},
		{[]int{130, 130}, 130},
		{nil, 0},
	} {
		if got := multiExit(c.codes); got != c.want {
			t.Errorf("multiExit(%v) = %d, want %d", c.codes, got, c.want)
		}
	}
}
