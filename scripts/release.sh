#!/usr/bin/env bash
# Builds the release archives: nrfprov and the tcp transport for linux, windows and darwin on
# amd64 and arm64 (CGO_ENABLED=0, -trimpath, version and commit stamped), with README, docs and
# examples; a zip for Windows, a tar.gz elsewhere; and SHA256SUMS, which `sha256sum -c SHA256SUMS`
# (run in OUTDIR) verifies.
# Usage: scripts/release.sh VERSION OUTDIR     e.g. scripts/release.sh v0.4.0 dist
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: scripts/release.sh VERSION OUTDIR   (e.g. v0.4.0 dist)" >&2
  exit 2
fi
version=$1
case "$version" in
v[0-9]*) ;;
*)
  echo "release: VERSION must look like v1.2.3, not $version" >&2
  exit 2
  ;;
esac
mkdir -p "$2"
out=$(cd "$2" && pwd)
cd "$(dirname "$0")/.."
command -v zip >/dev/null || { echo "release: zip is missing (apt-get install zip)" >&2; exit 1; }

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null)" ]; then
  commit="$commit+dirty"
fi
ldflags="-s -w -X main.version=$version -X main.commit=$commit"
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -f "$out/SHA256SUMS"
archives=()
for target in linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64; do
  goos=${target%/*} goarch=${target#*/}
  name="nrfprov_${version#v}_${goos}_${goarch}"
  dir="$stage/$name"
  mkdir -p "$dir"
  exe=
  [ "$goos" = windows ] && exe=.exe
  for cmd in nrfprov nrfprov-transport-tcp; do
    GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/$cmd$exe" "./cmd/$cmd"
  done
  cp README.md "$dir/"
  cp -r docs examples "$dir/"
  # Reproducible archives: fixed times and owners, sorted names.
  find "$dir" -exec touch -h -d @0 {} +
  if [ "$goos" = windows ]; then
    archive="$name.zip"
    rm -f "$out/$archive"
    (cd "$stage" && find "$name" | LC_ALL=C sort | zip -q -X -@ "$out/$archive")
  else
    archive="$name.tar.gz"
    tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$name" | gzip -n >"$out/$archive"
  fi
  archives+=("$archive")
  echo "release: $archive"
done
(cd "$out" && sha256sum "${archives[@]}" >SHA256SUMS)
echo "release: $out/SHA256SUMS ($(wc -l <"$out/SHA256SUMS") archives, version $version, commit $commit)"
