// Runs every ```sh example of docs/API.md against a fresh usage-metrics.
//
//   node tests/docs/check-api-examples.mjs [path/to/API.md]
//
// Starts the binary ($USAGE_METRICS_BIN, default build/usage-metrics) with the
// integration tests' harness (tests/integration/lib/server.mjs: a free loopback
// port, a temp data dir, or a private PostgreSQL database with
// USAGE_METRICS_BACKEND=postgres), `--fault-injection` and one API key, then
// runs the blocks in document order, each in its own `bash -c 'set -euo
// pipefail; <block>'` with BASE (the test server) and API_KEY (its key) in the
// environment. A block passes when bash exits 0.
//
// It also checks the convention the examples follow, so that an error status
// can never pass unnoticed: every curl either has -f (-fsS) or writes the
// status with -w '%{http_code}' (and then the block compares it).
//
// Prints one PASS/FAIL line per block and "N passed, M failed" at the end;
// exits non-zero on any failure. No npm packages needed.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, startServer, stopAll } from '../integration/lib/server.mjs';

const apiMd = path.resolve(process.argv[2] ?? path.join(repoRoot, 'docs', 'API.md'));
const BLOCK_TIMEOUT_MS = 60_000;

let passed = 0;
let failed = 0;
const pass = (m) => { passed++; console.log(`PASS: ${m}`); };
const fail = (m, detail) => {
  failed++;
  console.log(`FAIL: ${m}`);
  if (detail) console.log(String(detail).trimEnd().replace(/^/gm, '    '));
};
const finish = () => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
};

/** The ```sh blocks of a Markdown text: {line, code}, line = first code line. */
function shellBlocks(text) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```sh\s*$/.test(lines[i])) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    blocks.push({ line: start + 1, code: lines.slice(start, j).join('\n') });
    i = j;
  }
  return blocks;
}

/** The curl commands of a block (continuation lines joined) breaking the convention. */
function curlProblems(code) {
  const joined = code.replace(/\\\n/g, ' ');
  const problems = [];
  for (const m of joined.matchAll(/\bcurl\b[^|;&\n)]*/g)) {
    const cmd = m[0];
    const failsOnError = /\s-[a-zA-Z]*f[a-zA-Z]*\b/.test(cmd) || /\s--fail\b/.test(cmd);
    const writesStatus = /-w\s+['"]?[^'"\s]*%\{http_code\}/.test(cmd) && /-o\s+\/dev\/null/.test(cmd);
    if (!failsOnError && !writesStatus) problems.push(cmd.trim());
  }
  return problems;
}

function runBlock(code, env) {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${code}`], {
      env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    const timer = setTimeout(() => {
      out += `\n(timed out after ${BLOCK_TIMEOUT_MS} ms)`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, BLOCK_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? signal, out });
    });
  });
}

let text;
try {
  text = readFileSync(apiMd, 'utf8');
} catch (e) {
  fail(`read ${apiMd}`, e.message);
  finish();
}
const blocks = shellBlocks(text);
if (blocks.length === 0) {
  fail(`${path.relative(repoRoot, apiMd)} has sh examples`);
  finish();
}

const apiKey = 'docs-example-key';
let server;
try {
  server = await startServer({
    args: ['--fault-injection', '--api-key', apiKey, '--portal-secret', 'api-examples-portal-secret-32-chars'],
  });
} catch (e) {
  fail('start usage-metrics', e.message);
  finish();
}

const env = { ...process.env, BASE: server.baseUrl, API_KEY: apiKey };
const rel = path.relative(repoRoot, apiMd);
try {
  for (const b of blocks) {
    const first = b.code.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
    const name = `${rel}:${b.line}: ${first.trim().slice(0, 90)}`;
    const problems = curlProblems(b.code);
    if (problems.length) {
      fail(`${name} (curl without -fsS or -o /dev/null -w '%{http_code}')`, problems.join('\n'));
      continue;
    }
    const r = await runBlock(b.code, env);
    if (r.status === 0) pass(name);
    else fail(`${name} (exit ${r.status})`, r.out.slice(-1500));
  }
} finally {
  await server.stop();
  await stopAll();
}
finish();
