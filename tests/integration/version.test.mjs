// The release version comes from the build: /health, /info and every log line
// report the value the binary was compiled with (CMake's USAGE_METRICS_VERSION,
// the image's build argument, the release tag in the deploy workflow), never a
// constant. Two binaries show it: the service as configured, and the same
// service relinked with a version no release has (tests/CMakeLists.txt,
// usage-metrics-version-probe).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, stopAll, api, waitForRequestLog, uniq, repoRoot, VERSION } from './lib/server.mjs';

const probeBinary = process.env.USAGE_METRICS_PROBE_BIN ||
  path.join(repoRoot, 'build', 'tests', 'usage-metrics-version-probe');
const probeVersion = process.env.USAGE_METRICS_PROBE_VERSION || '9.8.7-probe.1';

const T = { timeout: 30_000 };

after(stopAll);

async function assertReports(srv, version) {
  const health = await api(srv, 'GET', '/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.version, version);

  const info = await api(srv, 'GET', '/info');
  assert.equal(info.status, 200);
  assert.equal(info.json.version, version);

  const root = await api(srv, 'GET', '/');
  assert.equal(root.json.version, version);

  const traceId = uniq('version');
  await api(srv, 'GET', '/no-such-route', { headers: { 'x-trace-id': traceId } });
  await waitForRequestLog(srv, traceId);
  await srv.stop();

  // Every line: the start-up lines, the request lines, the shutdown lines.
  assert.ok(srv.logs.length >= 4, `only ${srv.logs.length} log lines`);
  assert.deepEqual(srv.nonJsonLines, []);
  const others = srv.logs.filter((l) => l.version !== version);
  assert.deepEqual(others, [], `lines without version ${version}`);
  assert.ok(srv.logs.some((l) => l.message === 'service started'));
  assert.ok(srv.logs.some((l) => /^shutdown: complete/.test(l.message)));
}

test('the service reports the version it was configured with', T, async () => {
  await assertReports(await startServer(), VERSION);
});

test('a build with another version reports that one, everywhere', T, async () => {
  assert.notEqual(probeVersion, VERSION, 'the probe must differ from the configured version');
  await assertReports(await startServer({ binary: probeBinary }), probeVersion);
});
