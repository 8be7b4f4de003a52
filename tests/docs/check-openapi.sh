#!/usr/bin/env bash
# Checks docs/openapi.yaml:
#  1. it lints clean (no error, no warning) with @redocly/cli, pinned in
#     tests/docs/package.json, using tests/docs/redocly.yaml;
#  2. against the real binary (the integration tests' harness: free loopback
#     port, temp data dir or, with USAGE_METRICS_BACKEND=postgres, a private
#     PostgreSQL database; --fault-injection, no API keys): every (method,
#     path) it documents is served, i.e. a request does not answer 404
#     NOT_FOUND "Route ... not found", and its probe answers exactly the status
#     docs/API.md promises for it (EXPECTED in check-routes.mjs), which the
#     document lists;
#  3. against a second instance started with an API key: the operations
#     documented without security answer without a key, the others answer
#     401 without a key and not 401 with one (Bearer and x-api-key);
#  4. every route registered in the server's source is documented. The list
#     comes from the C++ source, not from the running server, so a new route
#     without documentation fails here: check-routes.mjs reads every
#     route(<method>, "<path>", ...) call (the helper make_router() in
#     http/server.cpp uses), plus any direct add_handler(<method>, "<path>")
#     or http_get/http_post/...("<path>") registration, in http/*.cpp.
#
# The binary is $USAGE_METRICS_BIN, default build/usage-metrics.
# Node packages come from tests/docs/package-lock.json (npm ci, skipped when
# node_modules already matches the lock file), so the checks run offline.
# Prints one PASS/FAIL line per check and "N passed, M failed" at the end;
# exits non-zero on any failure.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
spec="$repo/docs/openapi.yaml"
export USAGE_METRICS_BIN="${USAGE_METRICS_BIN:-$repo/build/usage-metrics}"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  fail "node and npm are installed"
  finish
fi
[ -f "$spec" ] || { fail "docs/openapi.yaml exists"; finish; }

# ---------------------------------------------------------------- npm ci, once
"$here/../lib/npm-ci-once.sh" "$here" @redocly/cli/bin/cli.js || { fail "npm ci in tests/docs"; finish; }
redocly="$here/node_modules/@redocly/cli/bin/cli.js"

# ---------------------------------------------------------------- lint
if out="$(cd "$here" && node "$redocly" lint --config "$here/redocly.yaml" "$spec" 2>&1)"; then
  if grep -Eq '[0-9]+ warnings?\.?$' <<<"$out"; then
    fail "redocly lint docs/openapi.yaml: warnings"
    sed 's/^/    /' <<<"$out"
  else
    pass "redocly lint docs/openapi.yaml (no errors, no warnings)"
  fi
else
  fail "redocly lint docs/openapi.yaml"
  sed 's/^/    /' <<<"$out"
fi

# The document as JSON, for the route checks (redocly resolves the YAML).
if ! out="$(cd "$here" && node "$redocly" bundle "$spec" --ext json -o "$workdir/openapi.json" 2>&1)"; then
  fail "redocly bundle docs/openapi.yaml to JSON"
  sed 's/^/    /' <<<"$out"
  finish
fi

# ---------------------------------------------------------------- routes
while IFS= read -r line; do
  echo "$line"
  case "$line" in
    PASS:*) passed=$((passed + 1)) ;;
    FAIL:*) failed=$((failed + 1)) ;;
  esac
done < <(node "$here/check-routes.mjs" "$workdir/openapi.json" "$repo" 2>&1
  rc=$?
  [ "$rc" -le 1 ] || echo "FAIL: check-routes.mjs crashed (exit $rc)")

finish
