#!/usr/bin/env bash
# scripts/man.sh DIR — write nrfprov's man pages (nrfprov.1, nrfprov-write.1, …) into DIR with
# cobra's doc generator, from the same help text and examples `nrfprov <verb> --help` prints.
# The pages are build output: do not commit them.
#
#   scripts/man.sh man && man -l man/nrfprov-provision.1
#
# Needs only Go: it builds nrfprov with -tags mangen, whose hidden __man command writes them.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: scripts/man.sh DIR" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$(readlink -f "$0")")/.."
go run -tags mangen ./cmd/nrfprov __man "$out"
echo "wrote $(ls "$out" | wc -l) man pages to $out"
