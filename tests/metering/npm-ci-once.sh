#!/usr/bin/env bash
# Installs tests/metering/package-lock.json into tests/metering/node_modules with
# `npm ci`, quietly, and only when node_modules does not already match the lock
# file (a stamp holds the lock file's hash). Concurrent runs (both backends under
# `ctest -j`) take turns on a lock. Prints npm's log and exits non-zero when
# npm ci fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.package-lock.stamp"
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
up_to_date() {
  [ -f "$stamp" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ] &&
    [ -f "$here/node_modules/@openmeter/sdk/package.json" ]
}
up_to_date && exit 0
exec 9>"${TMPDIR:-/tmp}/usage-metrics-metering-npm-ci.lock"
command -v flock >/dev/null 2>&1 && flock 9
up_to_date && exit 0
log="$(mktemp)"
if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >/dev/null 2>"$log"); then
  echo "$lock_sum" >"$stamp"
  rm -f "$log"
  exit 0
fi
cat "$log" >&2
rm -f "$log"
exit 1
