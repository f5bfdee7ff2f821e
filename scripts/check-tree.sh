#!/usr/bin/env bash
# Fails when a tracked file is larger than 1 MB or is a build output (an ELF, PE or Mach-O
# executable or object, or named like one). Build outputs belong in .gitignore, not in git.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue # deleted in the work tree, or a submodule
  size=$(stat -c %s "$f")
  if [ "$size" -gt 1048576 ]; then
    echo "check-tree: $f is $size bytes (over 1 MB): keep large files out of git" >&2
    bad=1
  fi
  case "$f" in
  *.exe | *.test | *.o | *.a | *.so | *.dll | *.dylib)
    echo "check-tree: $f is named like a build output" >&2
    bad=1
    continue
    ;;
  esac
  magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
  7f454c46* | 4d5a* | cffaedfe* | cefaedfe* | cafebabe*)
    echo "check-tree: $f is an executable or object file (magic $magic): a build output" >&2
    bad=1
    ;;
  esac
done < <(git ls-files -z)
exit $bad
