#!/usr/bin/env bash
# npm-ci-once.sh DIR MARKER: installs DIR/package-lock.json into DIR/node_modules
# with `npm ci`, quietly, and only when node_modules does not already match the
# lock file (a stamp holds the lock file's hash) or lacks MARKER (a path under
# node_modules that a complete install has). Concurrent runs (the same suite on
# both backends under `ctest -j`) take turns on a lock. Prints npm's log and
# exits non-zero when npm ci fails.
set -uo pipefail
dir="$(cd "$1" && pwd)"
marker="$dir/node_modules/$2"
stamp="$dir/node_modules/.package-lock.stamp"
lock_sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
up_to_date() {
  [ -f "$stamp" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ] && [ -f "$marker" ]
}
up_to_date && exit 0
exec 9>"${TMPDIR:-/tmp}/usage-metrics-npm-ci-$(echo "$dir" | sha256sum | cut -c1-12).lock"
command -v flock >/dev/null 2>&1 && flock 9
up_to_date && exit 0
log="$(mktemp)"
if (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >/dev/null 2>"$log"); then
  echo "$lock_sum" >"$stamp"
  rm -f "$log"
  exit 0
fi
cat "$log" >&2
rm -f "$log"
exit 1
