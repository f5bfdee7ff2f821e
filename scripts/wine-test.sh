#!/usr/bin/env bash
# Runs the Windows build under Wine (Debian's wine64): the Windows test binaries of the packages
# that need no pseudo-terminal, `nrfprov.exe demo`, and `nrfprov.exe --transport tcp ... imei`
# against a Linux nrfsim listening on loopback (a tcp transport child process on Windows).
# Installs wine64 and gcc-mingw-w64-x86-64 when missing and it runs as root (as .ci/run does).
# Usage: scripts/wine-test.sh            (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# Debian's wine64 package puts wine64 in /usr/lib/wine (the `wine` package adds /usr/bin/wine).
export PATH="$PATH:/usr/lib/wine"
need=()
command -v wine64 >/dev/null 2>&1 || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "wine-test: missing ${need[*]}: apt-get install --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  echo "wine-test: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nrfprov-wine.XXXXXX")
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
sim_pid=
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  wineserver -k 2>/dev/null || true # this prefix's server only
  rm -rf "$work"
}
trap cleanup EXIT

echo "wine-test: $(wine64 --version), prefix $WINEPREFIX"
wine64 wineboot -i >/dev/null 2>&1

# Wine 8.0 has no bcryptprimitives.dll, whose ProcessPrng Go >= 1.24 calls at start-up.
x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/processprng.c -ladvapi32

# Wine 8.0 answers NtSetInformationFile(FileDispositionInformationEx) with STATUS_NOT_IMPLEMENTED;
# Go 1.26's os.RemoveAll falls back to the older call only for INVALID_INFO_CLASS,
# INVALID_PARAMETER and NOT_SUPPORTED, so every t.TempDir cleanup fails ("unlinkat ...: Invalid
# function"). The test binaries are built with an -overlay copy of that one standard-library file
# that also falls back on NOT_IMPLEMENTED; nrfprov.exe and the transport are built unmodified.
goroot=$(go env GOROOT)
at="$goroot/src/internal/syscall/windows/at_windows.go"
sed 's/^\(\t\t\)STATUS_NOT_SUPPORTED: \( *\/\/ the file system doesn.t support FILE_DISPOSITION_INFORMATION_EX\)/\1STATUS_NOT_SUPPORTED, NTStatus(0xC0000002):\2/' \
  "$at" >"$work/at_windows.go"
if cmp -s "$at" "$work/at_windows.go"; then
  echo "wine-test: $at changed: update the overlay in scripts/wine-test.sh" >&2
  exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$work/at_windows.go" >"$work/overlay.json"

# Packages whose tests need no pseudo-terminal, and the tests left out under Wine, with why.
# (internal/at, internal/cmng, internal/sim, rtt/jlink, rtt/openocd, plugin/serialtransport,
# internal/flash, cmd/nrfsim and internal/e2e drive virtual boards on PTYs or Unix tools.)
declare -A skip=(
  # its fixtures are Unix executables: exec bits, case-sensitive names, no .exe
  [plugin]='^TestDiscoverOrderAndShadowing$'
  # their expected messages spell paths with '/'; Windows prints its own separator
  # a virtual board on a PTY; the Unix backslash rule (TestSplitCommandWindowsPaths covers
  # Windows); a fake reset command that is a shell script
  [cmd/nrfprov]='^(TestCompletionValues|TestSplitCommand|TestCommandResetterRunsNoShell)$'
  [internal/provision]='^(TestLoadManifestValid|TestLoadManifestUnreadableCredential|TestParseManifestProblems|TestParseManifestReportsAllProblems)$'
)
pkgs=(serialio plugin plugin/rtttransport rtt rtt/gdb cmd/nrfprov internal/provision)
fail=0
for p in "${pkgs[@]}"; do
  exe="$work/$(echo "$p" | tr / _).test.exe"
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -c -overlay "$work/overlay.json" -o "$exe" "./$p"
  args=(-test.count=1 -test.timeout=5m)
  [ -n "${skip[$p]:-}" ] && args+=(-test.skip "${skip[$p]}")
  start=$(date +%s)
  if (cd "$p" && wine64 "$exe" "${args[@]}" >"$exe.log" 2>&1); then
    echo "wine-test: ok   $p ($(($(date +%s) - start))s)"
  else
    echo "wine-test: FAIL $p" >&2
    grep -v '^0x' "$exe.log" | tail -40 >&2
    fail=1
  fi
done

echo "wine-test: nrfprov.exe and nrfprov-transport-tcp.exe"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/bin/nrfprov.exe" ./cmd/nrfprov
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o "$work/bin/nrfprov-transport-tcp.exe" ./cmd/nrfprov-transport-tcp
go build -o "$work/nrfsim" ./cmd/nrfsim

# The demo's board has no PTY on Windows: it listens on loopback and nrfprov.exe reaches it
# through nrfprov-transport-tcp.exe. The first provision writes three credentials, the second
# writes nothing.
if ! (cd "$work" && wine64 "$work/bin/nrfprov.exe" demo >"$work/demo.log" 2>&1); then
  echo "wine-test: FAIL nrfprov.exe demo" >&2
  grep -v '^0x' "$work/demo.log" | tail -30 >&2
  fail=1
else
  summaries=$(grep -E '^[0-9]+ written, [0-9]+ deleted, [0-9]+ resets$' "$work/demo.log" || true)
  if [ "$(echo "$summaries" | sed -n 1p | cut -d' ' -f1)" != 3 ] || [ "$(echo "$summaries" | sed -n 2p)" != "0 written, 0 deleted, 0 resets" ]; then
    echo "wine-test: FAIL nrfprov.exe demo: want 3 written, then nothing; got:" >&2
    echo "$summaries" >&2
    fail=1
  else
    echo "wine-test: ok   nrfprov.exe demo (second run: $(echo "$summaries" | sed -n 2p))"
  fi
fi

# A Linux nrfsim on loopback; nrfprov.exe reads its IMEI through the tcp transport's child
# process (go-plugin over loopback TCP, AutoMTLS, checksum pinned).
"$work/nrfsim" --run-dir "$work/sim" --listen tcp:127.0.0.1:0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
addr=
for _ in $(seq 100); do
  addr=$(grep -o '"serial_socket":"tcp:[^"]*"' "$work/sim.out" 2>/dev/null | sed 's/.*"tcp:\(.*\)"/\1/' || true)
  [ -n "$addr" ] && break
  kill -0 "$sim_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$addr" ]; then
  echo "wine-test: FAIL nrfsim did not start" >&2
  cat "$work/sim.err" >&2
  exit 1
fi
sum=$(sha256sum "$work/bin/nrfprov-transport-tcp.exe" | cut -d' ' -f1)
imei=$(wine64 "$work/bin/nrfprov.exe" --transport tcp --port "$addr" --plugin-checksum "tcp=$sum" imei 2>"$work/imei.err" | tr -d '\r') || true
if [[ "$imei" =~ ^[0-9]{15}$ ]]; then
  echo "wine-test: ok   nrfprov.exe --transport tcp --port $addr imei: $imei"
else
  echo "wine-test: FAIL nrfprov.exe --transport tcp imei: got '$imei'" >&2
  grep -v '^0x' "$work/imei.err" | tail -20 >&2
  fail=1
fi
exit $fail
