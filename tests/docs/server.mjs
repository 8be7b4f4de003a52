// Starts the usage-metrics binary for the docs checks: a free loopback port,
// a fresh temp data dir, the service's own environment variables removed.
// Every server started here is killed (by its pid) on stop() and on exit.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const binaryPath =
  process.env.USAGE_METRICS_BIN || path.join(repoRoot, 'build', 'usage-metrics');

const SERVICE_ENV = ['HOST', 'PORT', 'DATA_DIR', 'DATABASE_URL', 'API_KEYS', 'LOG_LEVEL',
  'ENVIRONMENT', 'REQUEST_TIMEOUT_MS', 'RETENTION', 'FAULT_INJECTION', 'CORS_ORIGIN',
  'SYNCHRONOUS', 'IO_THREADS'];

const live = new Set();
process.on('exit', () => {
  for (const s of live) s.kill();
});

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the binary with `args` and waits until GET /health answers 200. */
export async function startServer(args = []) {
  if (!existsSync(binaryPath)) {
    throw new Error(`usage-metrics binary not found at ${binaryPath}; build it or set USAGE_METRICS_BIN`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'usage-metrics-docs-'));
  const env = { ...process.env };
  for (const k of SERVICE_ENV) delete env[k];
  const child = spawn(binaryPath,
    ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => { output = (output + c).slice(-20000); });
  child.stderr.on('data', (c) => { output = (output + c).slice(-20000); });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });

  const server = {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    kill() {
      if (exited === null) {
        try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      rmSync(dataDir, { recursive: true, force: true });
      live.delete(server);
    },
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        for (let i = 0; i < 50 && exited === null; i++) await sleep(100);
      }
      server.kill();
    },
  };
  live.add(server);

  for (let i = 0; i < 100; i++) {
    if (exited !== null) break;
    try {
      const res = await fetch(`${server.baseUrl}/health`);
      await res.arrayBuffer();
      if (res.status === 200) return server;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  server.kill();
  throw new Error(`usage-metrics did not answer GET /health with 200 ` +
    `(${exited ? `exited ${exited.code ?? exited.signal}` : 'timed out'}):\n${output}`);
}
