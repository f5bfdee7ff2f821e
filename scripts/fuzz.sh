#!/usr/bin/env bash
# Runs every fuzz target for a while, one target per `go test` invocation (Go fuzzes one target
# at a time). Usage: scripts/fuzz.sh [budget per target, default 1m] [extra go test flags...]
# The budget is a duration (10m) or an execution count (50000x). With Go before 1.27 a duration
# can end in a spurious "context deadline exceeded" with no failing input written
# (go.dev/issue/75804); a count cannot, which is why CI uses one. A real crash always prints
# "Failing input written to …".
#
# A crash leaves its input under the package's testdata/fuzz/<Target>/; commit it with the fix:
# from then on it runs as a regression test in every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-1m}"
shift || true

# package and target, one per line: keep in step with the Fuzz functions (scripts/fuzz.sh -l lists them).
targets=(
  "./internal/at FuzzSplitter"
  "./internal/at FuzzParseFinal"
  "./internal/cmng FuzzParseList"
  "./internal/cmng FuzzParseRead"
  "./internal/provision FuzzParse"
  "./rtt FuzzParseControlBlock"
  "./rtt/gdb FuzzReadPacket"
)

if [ "$duration" = "-l" ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi

for t in "${targets[@]}"; do
  set -- $t "$@"
  pkg=$1 name=$2
  shift 2
  echo "fuzz: $name in $pkg for $duration"
  # A new interesting input is minimised for up to 60 s by default, with no progress shown
  # meanwhile; a shorter bound keeps short runs fuzzing.
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "${NRFPROV_FUZZ_MINIMIZE:-5s}" "$@" "$pkg"
done
