// The web pages over HTTP (GET /dashboard and /assets/*): served without a key
// from the binary, every file the page and its modules name, with its media
// type, an ETag and `Cache-Control: no-cache` (304 while unchanged), the
// pages' own Content-Security-Policy in place of the service's default one,
// and the other security headers. What the page does in a browser is
// tests/browser's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { startServer, stopAll, httpRequest, START_TIMEOUT_MS } from './lib/server.mjs';

const T = { timeout: 30_000 };
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
  + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
  + "require-trusted-types-for 'script'; trusted-types 'none'";
const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

let srv;
before(async () => {
  srv = await startServer({ args: ['--api-key', 'pages-key'] });
}, { timeout: START_TIMEOUT_MS });
after(stopAll);

const get = (path, headers = {}, method = 'GET') => httpRequest(srv.port, { method, path, headers });

/** Every value of header `name` in a node:http answer (rawHeaders keeps repeats). */
function values(r, name) {
  const out = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    if (r.rawHeaders[i].toLowerCase() === name) out.push(r.rawHeaders[i + 1]);
  }
  return out;
}

function assertPageHeaders(r, label) {
  assert.deepEqual(values(r, 'content-security-policy'), [PAGE_POLICY], `${label}: the pages' policy, once`);
  assert.deepEqual(values(r, 'cache-control'), ['no-cache'], `${label}: revalidated on every use`);
  assert.match(values(r, 'etag')[0] ?? '', /^W\/"[0-9a-f]{20}"$/, `${label}: a weak ETag`);
  for (const [name, want] of Object.entries({
    'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin', 'strict-transport-security': 'max-age=15552000; includeSubDomains',
  })) assert.deepEqual(values(r, name), [want], `${label}: ${name}`);
  assert.equal(values(r, 'x-trace-id').length, 1, `${label}: x-trace-id`);
}

/** The files the page names and, through their imports, the files those name. */
async function crawl() {
  const page = await get('/dashboard');
  const found = new Map([['/dashboard', page]]);
  const queue = [...page.text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  while (queue.length) {
    const path = queue.shift();
    if (found.has(path)) continue;
    const r = await get(path);
    found.set(path, r);
    if (path.endsWith('.js')) {
      for (const m of r.text.matchAll(/from '\.\/([^']+)'/g)) queue.push(`/assets/${m[1]}`);
    }
  }
  return found;
}

test('the dashboard is served without a key, with the pages\' headers, and names its script and styles', T, async () => {
  const r = await get('/dashboard');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], TYPES.html);
  assertPageHeaders(r, 'GET /dashboard');
  assert.match(r.text, /<script type="module" src="\/assets\/dashboard\.js"><\/script>/);
  assert.match(r.text, /<link rel="stylesheet" href="\/assets\/pages\.css">/);
  // The API behind it still wants the key.
  assert.equal((await get('/api/v1/meters')).status, 401);
});

test('the portal is served the same way, and its script loads the shared modules', T, async () => {
  const r = await get('/portal');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], TYPES.html);
  assertPageHeaders(r, 'GET /portal');
  assert.match(r.text, /<script type="module" src="\/assets\/portal\.js"><\/script>/);
  const script = await get('/assets/portal.js');
  assert.equal(script.status, 200);
  assert.match(script.text, /from '\.\/meter-view\.js'/);
  assert.equal((await get('/assets/portal.html')).status, 404);
});

test('every file the page and its modules name is served with its media type', T, async () => {
  const files = await crawl();
  assert.ok(files.size >= 9, `the page, its script, modules, styles and icon: ${[...files.keys()]}`);
  for (const [path, r] of files) {
    assert.equal(r.status, 200, path);
    const extension = path === '/dashboard' ? 'html' : path.split('.').pop();
    assert.equal(r.headers['content-type'], TYPES[extension], path);
    assertPageHeaders(r, path);
    assert.ok(r.body.length > 0, path);
  }
});

test('an unchanged file is answered 304 without a body; another tag gets the file', T, async () => {
  for (const path of ['/dashboard', '/assets/chart.js', '/assets/pages.css']) {
    const first = await get(path);
    const etag = first.headers.etag;
    const again = await get(path, { 'If-None-Match': etag });
    assert.equal(again.status, 304, path);
    assert.equal(again.body.length, 0, path);
    assert.equal(again.headers.etag, etag, path);
    assert.equal(values(again, 'content-type').length, 0, `${path}: no body, no type`);
    assertPageHeaders(again, `${path} 304`);
    assert.equal((await get(path, { 'If-None-Match': `"x", ${etag}` })).status, 304, `${path}: in a list`);
    assert.equal((await get(path, { 'If-None-Match': '"0123456789abcdef0123"' })).status, 200, path);
  }
  // Each file has its own tag.
  const tags = new Set();
  for (const path of ['/dashboard', '/assets/chart.js', '/assets/pages.css', '/assets/dashboard.js']) {
    tags.add((await get(path)).headers.etag);
  }
  assert.equal(tags.size, 4);
});

test('HEAD gives the headers and length of the GET, and large files are gzipped when accepted', T, async () => {
  const full = await get('/assets/meter-view.js');
  const head = await get('/assets/meter-view.js', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), full.body.length);
  assert.equal(head.headers.etag, full.headers.etag);
  const zipped = await get('/assets/meter-view.js', { 'Accept-Encoding': 'gzip' });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(zipped.headers.vary, 'Accept-Encoding');
  assert.equal(gunzipSync(zipped.body).toString('utf8'), full.text);
});

test('no other path is a page: 404 in the v1 error shape', T, async () => {
  for (const path of ['/assets/nope.js', '/assets/dashboard.html', '/assets/..%2fdashboard.html',
    '/dashboard.html', '/assets/chart.js.map']) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.json?.error?.code, 'NOT_FOUND', path);
    assert.equal(r.json.error.message, `Route GET ${path} not found`, path);
    // Errors keep the service's default policy.
    assert.deepEqual(values(r, 'content-security-policy'), ["default-src 'self'"], path);
  }
});
