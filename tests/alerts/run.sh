#!/usr/bin/env bash
# The usage-alert suite: channels, rules and events through @openmeter/sdk and plain
# HTTP, and the signed webhooks a real receiver on 127.0.0.1 gets, each checked with
# the published standardwebhooks library (both pinned in package-lock.json), against
# the real binary ($USAGE_METRICS_BIN, default build/usage-metrics). With
# USAGE_METRICS_BACKEND=postgres (and PG_CLUSTER_BIN) the servers run on a private
# PostgreSQL cluster instead of SQLite. Installs the packages once (offline
# afterwards), then runs every tests/alerts/*.test.mjs with `node --test` (with
# tests/lib/skip-policy.mjs: under CI=true an unexplained skip fails); exits
# non-zero on any failure.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export USAGE_METRICS_BIN="${USAGE_METRICS_BIN:-$repo/build/usage-metrics}"
"$here/../lib/npm-ci-once.sh" "$here" standardwebhooks/package.json ||
  { echo "FAIL: npm ci in tests/alerts" >&2; exit 1; }
[ -f "$here/node_modules/@openmeter/sdk/package.json" ] ||
  { echo "FAIL: tests/alerts/node_modules lacks @openmeter/sdk" >&2; exit 1; }
cd "$repo" || exit 1
exec node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter="$repo/tests/lib/skip-policy.mjs" --test-reporter-destination=stderr \
  tests/alerts/*.test.mjs
