#!/usr/bin/env bash
# Installs tests/docs/package-lock.json into tests/docs/node_modules with
# `npm ci`, quietly, and only when node_modules does not already match the
# lock file (a stamp holds the lock file's hash). Prints npm's log and exits
# non-zero when npm ci fails.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.package-lock.stamp"
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ] &&
  [ -f "$here/node_modules/@redocly/cli/bin/cli.js" ]; then
  exit 0
fi
log="$(mktemp)"
if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >/dev/null 2>"$log"); then
  echo "$lock_sum" >"$stamp"
  rm -f "$log"
  exit 0
fi
cat "$log" >&2
rm -f "$log"
exit 1
