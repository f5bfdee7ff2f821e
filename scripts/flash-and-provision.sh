#!/bin/sh
# flash-and-provision.sh: the AT client in, credentials provisioned and verified, the application
# back, for people who use neither west nor nrfprov's flags directly. A thin wrapper over
#   nrfprov [--board SN] provision -m MANIFEST --flash-at-client HEX (--restore-app HEX | --build-dir DIR) [--runner R]
# Exit status: nrfprov's (docs/exit-codes.md; 11 = the flash runner failed or is missing).
set -eu

usage() {
	cat >&2 <<'USAGE'
usage: flash-and-provision.sh -m MANIFEST -a AT_CLIENT_HEX (-A APP_HEX | -d BUILD_DIR)
                              [-b SERIAL] [-r RUNNER] [-k RESET_KIND] [-n] [-- NRFPROV_ARGS...]
  -m  the credentials manifest (YAML)
  -a  the AT client image (HEX or ELF) to program first
  -A  the application image to put back afterwards, or
  -d  the application's build directory (its merged.hex / zephyr.hex is put back)
  -b  the probe's J-Link serial number (default: the one connected board)
  -r  flash runner: auto (default), nrfutil, nrfjprog, jlink, west, openocd
  -k  reset kind: system (default), pin, debug
  -n  dry run: print the runner command lines, touch nothing
nrfprov is $NRFPROV, else nrfprov on PATH.
USAGE
	exit 2
}

manifest= atc= app= build= board= runner=auto kind=system dry=
while getopts m:a:A:d:b:r:k:nh opt; do
	case $opt in
	m) manifest=$OPTARG ;;
	a) atc=$OPTARG ;;
	A) app=$OPTARG ;;
	d) build=$OPTARG ;;
	b) board=$OPTARG ;;
	r) runner=$OPTARG ;;
	k) kind=$OPTARG ;;
	n) dry=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

[ -n "$manifest" ] && [ -n "$atc" ] || usage
if [ -n "$app" ] && [ -n "$build" ]; then
	echo "flash-and-provision.sh: give -A or -d, not both" >&2
	exit 2
fi
[ -n "$app" ] || [ -n "$build" ] || usage

set -- provision -m "$manifest" --flash-at-client "$atc" --runner "$runner" --reset-kind "$kind" "$@"
[ -z "$app" ] || set -- "$@" --restore-app "$app"
[ -z "$build" ] || set -- "$@" --build-dir "$build"
[ -z "$dry" ] || set -- "$@" --dry-run
[ -z "$board" ] || set -- --board "$board" "$@"
exec "${NRFPROV:-nrfprov}" "$@"
