/* Probe: open COM7, set go.bug.st/serial's read timeouts, write "AT\r", read with an overlapped
   ReadFile (mode "ov") or a plain one (mode "sync"). Prints what happened. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	int ov = argc > 1 && strcmp(argv[1], "ov") == 0;
	DWORD ms = argc > 2 ? atoi(argv[2]) : 100;
	HANDLE h = CreateFileA("\\\\.\\COM7", GENERIC_READ|GENERIC_WRITE, 0, NULL, OPEN_EXISTING, ov ? FILE_FLAG_OVERLAPPED : 0, NULL);
	if (h == INVALID_HANDLE_VALUE) { printf("open: %lu\n", GetLastError()); return 1; }
	COMMTIMEOUTS t = { MAXDWORD, MAXDWORD, ms, 0, 0 };
	if (argc > 3 && strcmp(argv[3], "zero") == 0) { t.ReadIntervalTimeout = MAXDWORD; t.ReadTotalTimeoutMultiplier = 0; t.ReadTotalTimeoutConstant = 0; }
	if (!SetCommTimeouts(h, &t)) printf("SetCommTimeouts: %lu\n", GetLastError());
	OVERLAPPED o = {0}; o.hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
	DWORD n = 0;
	BOOL ok = WriteFile(h, "AT\r", 3, &n, ov ? &o : NULL);
	if (!ok && GetLastError() == ERROR_IO_PENDING) ok = GetOverlappedResult(h, &o, &n, TRUE);
	printf("write ok=%d n=%lu\n", ok, n); fflush(stdout);
	char buf[64];
	for (int i = 0; i < 30; i++) {
		ResetEvent(o.hEvent); n = 0;
		DWORD t0 = GetTickCount();
		ok = ReadFile(h, buf, sizeof buf, &n, ov ? &o : NULL);
		DWORD e = ok ? 0 : GetLastError();
		if (!ok && e == ERROR_IO_PENDING) {
			DWORD w = WaitForSingleObject(o.hEvent, 3000);
			if (w == WAIT_TIMEOUT) { printf("read %d: overlapped read pending after 3000 ms (timeout was %lu ms)\n", i, ms); fflush(stdout); CancelIo(h); continue; }
			ok = GetOverlappedResult(h, &o, &n, FALSE); e = ok ? 0 : GetLastError();
		}
		printf("read %d: ok=%d err=%lu n=%lu after %lu ms\n", i, ok, e, n, GetTickCount() - t0); fflush(stdout);
		if (n > 0) { buf[n] = 0; printf("got %lu bytes\n", n); return 0; }
	}
	return 2;
}
