// Command line and environment: --help, rejection of bad values (exit 2, one JSON
// `startup error` line on stderr, empty stdout), a port already taken (exit 1, the same
// kind of line), environment fallbacks and flag precedence.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  startServer, stopAll, api, binaryPath, assertBinary, cleanEnv, makeTempDir, freePort,
  waitForRequestLog, uniq, SERVICE, VERSION, ISO_MS_Z,
} from './lib/server.mjs';

const T = { timeout: 15_000 };

after(stopAll);

/** Runs the binary to completion (killed after timeoutMs); returns {code, signal, stdout, stderr, timedOut}. */
function runOnce(args, { env = {}, timeoutMs = 5000 } = {}) {
  assertBinary();
  return new Promise((resolve) => {
    const child = spawn(binaryPath, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const FLAGS = ['--host', '--port', '--data-dir', '--database-url', '--api-key', '--log-level',
  '--environment', '--request-timeout-ms', '--fault-injection', '--retention'];

test('--help prints every flag and exits 0', T, async () => {
  const r = await runOnce(['--help']);
  assert.equal(r.timedOut, false, 'exits by itself');
  assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
  for (const f of FLAGS) assert.ok(r.stdout.includes(f), `--help mentions ${f}\n${r.stdout}`);
});

/**
 * The one stderr line of a failure to start: a JSON log line like every other (so the
 * runbook's Logs Insights queries find it), `startup error: <what>` at level error, the
 * detail in `error`. Returns the parsed line.
 */
function assertStartupErrorLine(stderr, what) {
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one stderr line, got: ${JSON.stringify(stderr)}`);
  assert.ok(stderr.endsWith('\n'), 'the line is terminated');
  let line;
  assert.doesNotThrow(() => { line = JSON.parse(lines[0]); }, `a JSON line: ${lines[0]}`);
  assert.deepEqual(Object.keys(line), ['timestamp', 'level', 'message', 'error', 'service', 'version'], lines[0]);
  assert.match(line.timestamp, ISO_MS_Z);
  assert.equal(line.level, 'error');
  assert.equal(line.message, `startup error: ${what}`);
  assert.equal(typeof line.error, 'string');
  assert.ok(line.error.length > 0, 'the error says what is wrong');
  assert.equal(line.service, SERVICE);
  assert.equal(line.version, VERSION);
  return line;
}

const badArgs = [
  ['--port', '70000'],
  ['--port', 'abc'],
  ['--port', '-1'],
  ['--log-level', 'loud'],
  ['--request-timeout-ms', '0'],
  ['--request-timeout-ms', 'soon'],
  ['--retention', 'forever'],
  ['--no-such-flag'],
  ['--port'],
];

for (const bad of badArgs) {
  test(`bad command line \`${bad.join(' ')}\` exits 2 with one stderr line and no stdout`, T, async () => {
    const port = await freePort();
    const dataDir = makeTempDir();
    // The bad argument comes last so that it overrides the valid defaults before it.
    const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, ...bad];
    const r = await runOnce(args);
    assert.equal(r.timedOut, false, `the process must exit by itself (it kept running); stdout: ${r.stdout.slice(0, 300)}`);
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '', 'stdout is empty');
    assertStartupErrorLine(r.stderr, 'invalid configuration');
  });
}

for (const [name, value] of [['PORT', 'abc'], ['LOG_LEVEL', 'loud']]) {
  test(`bad environment value ${name}=${value} exits 2 with one stderr line and no stdout`, T, async () => {
    const dataDir = makeTempDir();
    const env = { HOST: '127.0.0.1', PORT: String(await freePort()), DATA_DIR: dataDir, [name]: value };
    const r = await runOnce([], { env });
    assert.equal(r.timedOut, false, 'the process must exit by itself');
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assertStartupErrorLine(r.stderr, 'invalid configuration');
  });
}

test('a port already taken: exit 1 with one JSON startup error line on stderr', T, async () => {
  const first = await startServer();
  const r = await runOnce(['--host', '127.0.0.1', '--port', String(first.port), '--data-dir', makeTempDir()],
    { timeoutMs: 10_000 });
  assert.equal(r.timedOut, false, 'the process must exit by itself');
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assertStartupErrorLine(r.stderr, 'cannot listen');
  // What it logged before trying to listen is JSON on stdout, as always.
  for (const l of r.stdout.split('\n').filter((x) => x !== '')) assert.doesNotThrow(() => JSON.parse(l), l);
});

test('HOST, PORT, DATA_DIR and ENVIRONMENT from the environment are used when no flag is given', T, async () => {
  const s = await startServer({ viaEnv: true, env: { ENVIRONMENT: 'env-fallback' } });
  const info = await api(s, 'GET', '/info');
  assert.equal(info.status, 200, info.text);
  assert.equal(info.json.environment, 'env-fallback');
});

test('a flag wins over its environment variable', T, async () => {
  const s = await startServer({ args: ['--environment', 'from-flag'], env: { ENVIRONMENT: 'from-env' } });
  const info = await api(s, 'GET', '/info');
  assert.equal(info.json.environment, 'from-flag');
});

test('DATA_DIR from the environment is where the events live (they survive a restart)', T, async () => {
  const dataDir = makeTempDir();
  const id = uniq('envdir');
  const a = await startServer({ viaEnv: true, dataDir });
  assert.equal((await api(a, 'POST', '/v1/events', { body: { id, entityId: id, eventType: 't' } })).status, 201);
  await a.stop(); // graceful stop itself is checked in logs.test.mjs
  const b = await startServer({ dataDir });
  const r = await api(b, 'GET', `/v1/events?entityId=${id}`);
  assert.equal(r.json.data.pagination.total, 1);
});

test('--log-level warn drops info request lines and keeps warn ones', T, async () => {
  const s = await startServer({ args: ['--log-level', 'warn'] });
  const okTrace = uniq('lvl');
  const nfTrace = uniq('lvl');
  await api(s, 'GET', '/', { headers: { 'x-trace-id': okTrace } });
  await api(s, 'GET', '/nope', { headers: { 'x-trace-id': nfTrace } });
  await waitForRequestLog(s, nfTrace);
  // Stopped gracefully, the server has written every line it would write.
  assert.equal(await s.stop('SIGTERM'), 0);
  assert.ok(!s.logs.some((l) => l.traceId === okTrace), 'no info line for the 200');
  assert.ok(s.logs.every((l) => l.level === 'warn' || l.level === 'error'), s.rawStdout.join('\n'));
});

test('LOG_LEVEL from the environment is used', T, async () => {
  const s = await startServer({ env: { LOG_LEVEL: 'error' } });
  const t = uniq('lvl');
  const r = await api(s, 'GET', '/nope', { headers: { 'x-trace-id': t } });
  assert.equal(r.status, 404);
  // Stopped gracefully, the server has written every line it would write.
  assert.equal(await s.stop('SIGTERM'), 0);
  assert.ok(!s.logs.some((l) => l.traceId === t), 'no warn line at level error');
  // At level error the no-API-key warning is not printed either.
  assert.ok(s.logs.every((l) => l.level === 'error'), s.rawStdout.join('\n'));
});

test('--retention 30d and --request-timeout-ms 5000 are accepted', T, async () => {
  const s = await startServer({ args: ['--retention', '30d', '--request-timeout-ms', '5000'] });
  assert.equal((await api(s, 'GET', '/health')).status, 200);
});
