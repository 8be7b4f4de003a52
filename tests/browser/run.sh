#!/usr/bin/env bash
# The browser suite: the web pages (GET /dashboard, GET /portal) in Debian's
# headless Chromium (/usr/bin/chromium, or $CHROMIUM_BIN; scripts/setup
# installs it), driven by puppeteer-core, pinned in package-lock.json, which
# never downloads a browser. Against the real binary ($USAGE_METRICS_BIN,
# default build/usage-metrics). Screenshots go to $BROWSER_ARTIFACTS (ctest:
# the build dir's tests/browser-artifacts). Exits non-zero on any failure.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export USAGE_METRICS_BIN="${USAGE_METRICS_BIN:-$repo/build/usage-metrics}"
chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "FAIL: no Chromium at $chromium (run scripts/setup)" >&2; exit 1; }
"$here/../lib/npm-ci-once.sh" "$here" puppeteer-core/package.json ||
  { echo "FAIL: npm ci in tests/browser" >&2; exit 1; }
cd "$repo" || exit 1
exec node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter="$repo/tests/lib/skip-policy.mjs" --test-reporter-destination=stderr \
  tests/browser/*.test.mjs
