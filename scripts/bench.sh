#!/usr/bin/env bash
# scripts/bench.sh — run nrfprov's benchmarks and print one Markdown table: metric, measured,
# floor or baseline, ratio, target. Every ratio is against a floor or baseline measured in the
# same run on this machine, so the table means the same on a laptop and on a CI runner. The
# provisioning floors are the least exchange a manifest needs (worked out from the modem's
# documented answers, never from what nrfprov sent) plus a bare process measured in the run.
#
#   scripts/bench.sh                 # all rows, the default iterations (a few minutes)
#   scripts/bench.sh -quick          # one iteration each (a smoke run)
#   scripts/bench.sh -raw out.txt    # also keep go test's raw output (for benchstat)
#   scripts/bench.sh -text           # the table as aligned text instead of Markdown
#
# Needs only Go (the benchmarks build nrfprov, its plugins and the virtual board themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 text=0 raw=""
while [ $# -gt 0 ]; do
	case "$1" in
	-quick) quick=1 ;;
	-md) text=0 ;;
	-text) text=1 ;;
	-raw) raw="$2"; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# bench PACKAGE REGEX ITERATIONS: one go test run; its output is appended to $out.
bench() {
	local n="$3"
	[ "$quick" = 1 ] && n=1x
	echo "bench.sh: go test -bench '$2' -benchtime $n $1" >&2
	if ! go test -run '^$' -bench "$2" -benchtime "$n" "$1" >>"$out" 2>&1; then
		echo "bench.sh: benchmark $2 in $1 failed:" >&2
		tail -n 30 "$out" >&2
		exit 1
	fi
}

bench ./internal/sim 'BaudPacing$' 3x
bench ./internal/e2e 'ATRoundTrip$|BulkRead$' 200x
bench ./internal/e2e 'StartToFirstByte$' 10x
bench ./internal/e2e 'WriteCertificate$' 3x
bench ./internal/e2e 'Provision$' 5x
bench ./internal/e2e 'Provision16Boards$' 2x
bench ./internal/e2e 'RTTDownOnVirtualBoard$' 3x
bench ./rtt 'DownWriteThroughput$' 5x
bench ./internal/e2e 'ProvisionOverRTTBackends$' 2x
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-gcc >/dev/null; then
	bench ./internal/qemutest 'QEMURTTDown$' 3x
fi
[ -n "$raw" ] && cp "$out" "$raw"

# metric BENCH UNIT: the value a benchmark reported for a unit (first match; "-" if none).
metric() {
	awk -v b="$1" -v u="$2" '
		$1 ~ "^Benchmark" && (index($1, b "-") == 1 || $1 == b) {
			for (i = 3; i < NF; i++) if ($(i+1) == u) { print $i; exit }
		}' "$out" | head -n 1 | grep . || echo -
}

rows=()
# row NAME MEASURED FLOOR RATIO TARGET
row() { rows+=("$1|$2|$3|$4|$5"); }

row "UART pacing, virtual board out (B/s at 115200)" "$(metric BenchmarkBaudPacing/baud=115200 out_B/s)" "11520" "$(metric BenchmarkBaudPacing/baud=115200 out_ratio)" "≈ 1.00"
row "UART pacing, virtual board in (time / byte times)" "-" "-" "$(metric BenchmarkBaudPacing/baud=115200 in_ratio)" "≈ 1.00"
row "provision, full run (ms) vs least exchange + bare process" "$(metric BenchmarkProvision full_ms)" "$(metric BenchmarkProvision full_floor_ms)" "$(metric BenchmarkProvision full_ratio)" "≤ 1.15"
row "provision, in-sync re-run (ms) vs least exchange + bare process" "$(metric BenchmarkProvision rerun_ms)" "$(metric BenchmarkProvision rerun_floor_ms)" "$(metric BenchmarkProvision rerun_ratio)" "≤ 1.5"
row "bare process: start, open, AT, OK (ms)" "$(metric BenchmarkProvision process_floor_ms)" "-" "-" "-"
row "start to first byte on the wire (ms) vs bare process" "$(metric BenchmarkStartToFirstByte nrfprov-ms)" "$(metric BenchmarkStartToFirstByte floor-ms)" "$(metric BenchmarkStartToFirstByte ratio)" "≤ 2"
row "16 boards at once (ms) vs 16 bare processes at once + least exchange" "$(metric BenchmarkProvision16Boards sixteen_ms)" "$(metric BenchmarkProvision16Boards floor16_ms)" "$(metric BenchmarkProvision16Boards ratio_16_vs_floor)" "≤ 1.30"
row "16 boards at once vs 1 board (ms)" "$(metric BenchmarkProvision16Boards sixteen_ms)" "$(metric BenchmarkProvision16Boards one_ms)" "$(metric BenchmarkProvision16Boards ratio_16_vs_1)" "-"
row "16 boards: host CPU per board (ms, nrfprov + transport)" "$(metric BenchmarkProvision16Boards cpu_ms_per_board)" "-" "-" "-"
row "16 boards: virtual boards' CPU per board (ms, same 2 cores)" "$(metric BenchmarkProvision16Boards board_cpu_ms_per_board)" "-" "-" "-"
row "AT round trip p50 (µs), plugin vs in-process" "$(metric BenchmarkATRoundTrip plugin-p50-µs)" "$(metric BenchmarkATRoundTrip inproc-p50-µs)" "+$(metric BenchmarkATRoundTrip added-p50-µs) µs" "≤ +300 µs"
row "bulk read (MB/s), plugin vs in-process" "$(metric BenchmarkBulkRead plugin-MB/s)" "$(metric BenchmarkBulkRead inproc-MB/s)" "$(metric BenchmarkBulkRead throughput-ratio)" "plugin ≫ UART"
row "write 1.9 KB certificate vs wire time" "$(metric BenchmarkWriteCertificate ms/write)" "$(metric BenchmarkWriteCertificate floor_ms)" "$(metric BenchmarkWriteCertificate ratio)" "≤ 1.10"
row "provision over RTT, J-Link telnet vs GDB (ms)" "$(metric BenchmarkProvisionOverRTTBackends jlink_ms)" "$(metric BenchmarkProvisionOverRTTBackends gdb_ms)" "$(metric BenchmarkProvisionOverRTTBackends jlink_vs_gdb)" "≈ 1.00"
row "provision over RTT, OpenOCD vs GDB (ms)" "$(metric BenchmarkProvisionOverRTTBackends openocd_ms)" "$(metric BenchmarkProvisionOverRTTBackends gdb_ms)" "$(metric BenchmarkProvisionOverRTTBackends openocd_vs_gdb)" "≈ 1.00"
row "RTT down, virtual board over GDB, 16 B, 10 ms poll (B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=10ms B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=10ms floor-B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=10ms ratio)" "≥ 0.90"
row "RTT down, virtual board over GDB, 32 B, 10 ms poll (B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=32/poll=10ms B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=32/poll=10ms floor-B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=32/poll=10ms ratio)" "≥ 0.90"
row "RTT down, virtual board over GDB, 16 B, 2 ms poll (B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=2ms B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=2ms floor-B/s)" "$(metric BenchmarkRTTDownOnVirtualBoard/size=16/poll=2ms ratio)" "-"
row "RTT down, engine in-process, 10 ms poll (B/s)" "$(metric BenchmarkDownWriteThroughput/target=10ms/writer=1ms B/s)" "$(metric BenchmarkDownWriteThroughput/target=10ms/writer=1ms floor-B/s)" "$(metric BenchmarkDownWriteThroughput/target=10ms/writer=1ms ratio)" "≥ 0.90"
row "RTT down through QEMU's gdbstub, halt per access (B/s)" "$(metric BenchmarkQEMURTTDown B/s)" "one halted RAM write" "$(metric BenchmarkQEMURTTDown x_floor)" "-"

if [ "$text" = 1 ]; then
	printf '%-66s %12s %14s %12s %12s\n' metric measured "floor" ratio target
	for r in "${rows[@]}"; do
		IFS='|' read -r a b c d e <<<"$r"
		printf '%-66s %12s %14s %12s %12s\n' "$a" "$b" "$c" "$d" "$e"
	done
else
	echo "| metric | measured | floor or baseline | ratio | target |"
	echo "|---|---|---|---|---|"
	for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
fi
