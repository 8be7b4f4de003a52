// Compares the routes documented in docs/openapi.yaml (bundled to JSON) with
// the routes the server serves. Usage: node check-routes.mjs openapi.json REPO
// Prints one "PASS: ..." / "FAIL: ..." line per check (and "NOTE: ..." lines);
// exits 1 if any check failed.
//
// The server's route list is its route table (http/routes.cpp), as
// `usage-metrics --print-routes` prints it ($USAGE_METRICS_BIN, default
// REPO/build/usage-metrics): every row's method, path template, whether it
// needs an API key, and whether it has a HEAD twin. Path templates are
// RESTinio express paths: `:name` is a parameter.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, stopAll } from '../integration/lib/server.mjs';

const [specFile, repo] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specFile, 'utf8'));

let failures = 0;
const pass = (m) => console.log(`PASS: ${m}`);
const fail = (m, detail) => {
  failures++;
  console.log(`FAIL: ${m}`);
  if (detail) console.log(String(detail).replace(/^/gm, '    '));
};

// Documented, but served only once another change lands: reported as
// PENDING (neither passed nor failed) while the server answers 404, and as
// PASS with a note once it serves them. Remove an entry when its route lands.
const PENDING = new Set();

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

// The one status each documented operation must answer to the probe below (its
// sample parameters, `{}` as the body where it takes one; the meter `llm_tokens`
// exists, grouped by `model`): what docs/API.md promises for that request. Any
// other status, documented or not, fails; so does an operation missing here.
// OPTIONS (a CORS preflight) answers 204 everywhere.
const SAMPLE_METER = {
  slug: 'llm_tokens', aggregation: 'SUM', eventType: 'prompt', valueProperty: '$.tokens',
  groupBy: { model: '$.model' },
};
const EXPECTED = new Map(Object.entries({
  'GET /health': 200,
  'GET /ready': 200,
  'GET /info': 200,
  'GET /': 200,
  'GET /docs': 200,
  'GET /dashboard': 200,
  'GET /assets/{file}': 200, // the example names dashboard.js
  'GET /metrics': 200,
  'GET /v1/events': 200,
  'POST /v1/events': 400, // {} has no entityId and no eventType
  'POST /v1/events/batch': 400, // {} has no events
  'DELETE /v1/events/{id}': 404, // no event evt-unknown
  'PUT /v1/events/{id}': 400, // {} has no entityId and no eventType
  'GET /v1/usage/stats': 200,
  'GET /v1/usage/{entityId}': 200,
  'GET /v1/usage/{entityId}/history': 200,
  'GET /api/v1/events': 200,
  'POST /api/v1/events': 400, // {} is not a CloudEvent
  'DELETE /api/v1/events': 404, // no event evt-unknown
  'PUT /api/v1/events': 400, // {} is not a CloudEvent
  'GET /api/v1/meters': 200,
  'POST /api/v1/meters': 400, // {} is not a meter
  'GET /api/v1/meters/{meter}': 200,
  'PUT /api/v1/meters/{meter}': 200, // every field of an update is optional (probed after the reads)
  'DELETE /api/v1/meters/{meter}': 204, // probed last of the meter's routes
  'GET /api/v1/meters/{meter}/query': 200,
  'POST /api/v1/meters/{meter}/query': 200, // every field of a query is optional
  'GET /api/v1/meters/{meter}/subjects': 200,
  'GET /api/v1/meters/{meter}/group-by/{key}/values': 200,
  'POST /api/v1/subjects': 400, // {} has no key
  'GET /api/v1/subjects': 200,
  'GET /api/v1/subjects/{subject}': 404, // no subject customer-1 (the probe creates none)
  'DELETE /api/v1/subjects/{subject}': 404,
  'GET /api/v2/events': 200,
  'POST /api/v1/portal/tokens': 400, // {} has no subject
  'GET /api/v1/portal/tokens': 200,
  'POST /api/v1/portal/tokens/invalidate': 400, // {} names no token
  'GET /api/v1/portal/meters/{meterSlug}/query': 401, // the probe has no portal token
  'GET /api/v1/portal/meters': 401,
  // Usage alerts: the probe's ids name nothing, and {} is no channel, rule or
  // update (a PUT looks its record up first).
  'POST /api/v1/notification/channels': 400, // {} has no type
  'GET /api/v1/notification/channels': 200,
  'GET /api/v1/notification/channels/{channelId}': 404,
  'PUT /api/v1/notification/channels/{channelId}': 404,
  'DELETE /api/v1/notification/channels/{channelId}': 404,
  'POST /api/v1/notification/rules': 400, // {} has no type
  'GET /api/v1/notification/rules': 200,
  'GET /api/v1/notification/rules/{ruleId}': 404,
  'PUT /api/v1/notification/rules/{ruleId}': 404,
  'DELETE /api/v1/notification/rules/{ruleId}': 404,
  'GET /api/v1/notification/events': 200,
  'GET /api/v1/notification/events/{eventId}': 404,
  'POST /api/v1/notification/events/{eventId}/resend': 404, // {}: every channel of no event
  'GET /portal': 200,
  'POST /admin/faults/{actor}/crash': 202,
  'POST /admin/faults/{actor}/hang': 202,
}));
function expectedStatus(o) {
  if (o.method === 'OPTIONS') return 204;
  // HEAD answers as its GET does, without the body.
  if (o.method === 'HEAD') return EXPECTED.get(`GET ${o.path}`);
  return EXPECTED.get(`${o.method} ${o.path}`);
}

// ---------------------------------------------------------------- documented operations
const operations = [];
for (const [p, item] of Object.entries(spec.paths ?? {})) {
  for (const m of METHODS) {
    if (!item[m]) continue;
    const op = item[m];
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => resolveRef(x));
    const security = op.security ?? spec.security ?? [];
    const open = security.length === 0 || security.some((req) => Object.keys(req).length === 0);
    // A portal token (the portalToken scheme) opens the portal routes only.
    const portal = !open && security.length > 0 && security.every((req) => 'portalToken' in req);
    operations.push({ method: m.toUpperCase(), path: p, op, params, open, portal,
      statuses: Object.keys(op.responses ?? {}) });
  }
}

function resolveRef(x) {
  while (x && x.$ref) {
    const parts = x.$ref.replace(/^#\//, '').split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    x = parts.reduce((o, k) => o?.[k], spec);
  }
  return x;
}

function sampleValue(param) {
  const schema = resolveRef(param.schema) ?? {};
  if (param.example !== undefined) return String(param.example);
  if (schema.example !== undefined) return String(schema.example);
  if (schema.enum?.length) return String(schema.enum[0]);
  if (schema.default !== undefined) return String(schema.default);
  return schema.type === 'integer' ? '1' : 'sample';
}

function requestFor({ method, path: p, params, op }) {
  let url = p.replace(/\{([^}]+)\}/g, (_, name) => {
    const param = params.find((x) => x.in === 'path' && x.name === name);
    return encodeURIComponent(param ? sampleValue(param) : 'sample');
  });
  const query = params.filter((x) => x.in === 'query' && x.required)
    .map((x) => `${encodeURIComponent(x.name)}=${encodeURIComponent(sampleValue(x))}`);
  if (query.length) url += `?${query.join('&')}`;
  const init = { method, headers: {} };
  if (op.requestBody) {
    init.headers['content-type'] = 'application/json';
    init.body = '{}';
  }
  return { url, init };
}

async function probe(server, operation, headers = {}) {
  const { url, init } = requestFor(operation);
  const res = await fetch(server.baseUrl + url, { ...init, headers: { ...init.headers, ...headers } });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  // The v1 error body, or under /api/v1 an RFC 7807 problem with the same text.
  const notFoundText = body?.error?.code === 'NOT_FOUND' ? body.error.message
    : body?.status === 404 ? body.detail : '';
  const routeNotFound = res.status === 404 && /^Route \S+ \S+ not found$/.test(notFoundText ?? '');
  return { url, status: res.status, text, routeNotFound, contentType: res.headers.get('content-type') ?? '' };
}

// ---------------------------------------------------------------- the server's own route list
function tableRoutes() {
  const bin = process.env.USAGE_METRICS_BIN ?? path.join(repo, 'build', 'usage-metrics');
  const listing = JSON.parse(execFileSync(bin, ['--print-routes'], { encoding: 'utf8' }));
  return listing.routes.map((row) => ({
    method: row.method, template: row.path, auth: row.auth, head: row.head,
    where: 'the route table',
  }));
}

// Does the server template (RESTinio express) have a documented operation?
// Literal segments must be equal; a server parameter matches a documented
// parameter or a documented literal (one operation per value, like
// /admin/faults/{actor}/crash for /admin/faults/:actor/:fault).
function documentedAs(route) {
  const seg = (p) => p.split('/').slice(1);
  const s = seg(route.template);
  const candidates = operations.filter((o) => o.method === route.method && seg(o.path).length === s.length);
  const isParam = (d) => d.startsWith('{');
  // Parameter for parameter first; a server parameter matches documented
  // literals only when no documented parameter stands for it.
  const exact = candidates.filter((o) => seg(o.path).every((d, i) =>
    s[i].startsWith(':') ? isParam(d) : d === s[i]));
  if (exact.length) return exact;
  return candidates.filter((o) => seg(o.path).every((d, i) =>
    s[i].startsWith(':') || (d === s[i] && !isParam(d))));
}

// ---------------------------------------------------------------- checks
const routes = tableRoutes();
if (routes.length === 0) {
  fail('usage-metrics --print-routes lists the route table');
} else {
  pass(`usage-metrics --print-routes lists ${routes.length} routes`);
}
for (const r of routes) {
  const docs = documentedAs(r);
  if (docs.length) {
    pass(`${r.method} ${r.template} (${r.where}) is documented as ${docs.map((o) => `${o.method} ${o.path}`).join(', ')}`);
  } else {
    fail(`${r.method} ${r.template} (${r.where}) is served but not in docs/openapi.yaml`);
    continue;
  }
  // The row says whether a key is needed; the document must say the same.
  const wrong = docs.filter((o) => o.open !== (r.auth === 'none') || o.portal !== (r.auth === 'portal-token'));
  if (wrong.length) {
    fail(`${r.method} ${r.template}: the route table says auth ${r.auth}, docs/openapi.yaml documents ${wrong.map((o) => `${o.method} ${o.path}`).join(', ')} as ${wrong[0].open ? 'open' : wrong[0].portal ? 'needing a portal token' : 'needing a key'}`);
  } else {
    pass(`${r.method} ${r.template}: auth ${r.auth} as documented`);
  }
}

const unserved = new Set();
const portalSecret = 'docs-check-portal-secret-of-32-chars';
const server = await startServer({ args: ['--fault-injection', '--portal-secret', portalSecret] });
try {
  // The meter the probes of /api/v1/meters/{meter}… name, ready (back-filled).
  const created = await fetch(`${server.baseUrl}/api/v1/meters`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SAMPLE_METER),
  });
  if (created.status !== 201) fail(`create the sample meter: ${created.status}`, await created.text());
  for (let i = 0; i < 100; i++) {
    const q = await fetch(`${server.baseUrl}/api/v1/meters/${SAMPLE_METER.slug}/query`);
    await q.arrayBuffer();
    if (q.status !== 503) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Fault drills last: a crash or hang must not disturb the other probes. Before them
  // the meter's PUT (which may rebuild it) and then its DELETE, after its other routes.
  const rank = (o) => (o.path.startsWith('/admin/') ? 3 : o.method === 'DELETE' ? 2 : o.method === 'PUT' ? 1 : 0);
  const ordered = [...operations].sort((a, b) => rank(a) - rank(b));
  for (const o of ordered) {
    const name = `${o.method} ${o.path}`;
    const want = expectedStatus(o);
    if (want === undefined) {
      fail(`${name}: check-routes.mjs does not say which status its probe must get (add it to EXPECTED)`);
      continue;
    }
    if (!o.statuses.includes(String(want))) {
      fail(`${name}: the status its probe must get, ${want}, is not documented (${o.statuses.join(', ')})`);
    }
    const r = await probe(server, o);
    if (r.routeNotFound) {
      unserved.add(name);
      if (PENDING.has(name)) {
        console.log(`PENDING: ${name} is documented ahead of its route (404 Route not found)`);
      } else {
        fail(`${name} is served (${o.method} ${r.url} answered 404 Route not found)`);
      }
      continue;
    }
    if (r.status !== want) {
      fail(`${name}: ${o.method} ${r.url} answered ${r.status}, not the documented ${want}`, r.text.slice(0, 300));
      continue;
    }
    pass(`${name} is served (${o.method} ${r.url} -> ${r.status}, as documented)`);
    if (PENDING.has(name)) console.log(`NOTE: ${name} is served now; remove it from PENDING in check-routes.mjs`);
    if (name === 'GET /docs' && r.status === 200) {
      if (r.contentType.startsWith('application/yaml') && /^openapi: 3\.1/m.test(r.text)) {
        pass('GET /docs serves the OpenAPI document as application/yaml');
      } else {
        fail(`GET /docs serves the OpenAPI document as application/yaml (got ${r.contentType})`, r.text.slice(0, 200));
      }
    }
  }
} finally {
  await server.stop();
}

// Authentication as documented: a second instance with an API key.
const key = 'docs-check-key';
const keyed = await startServer({ args: ['--fault-injection', '--api-key', key, '--portal-secret', portalSecret] });
try {
  for (const o of operations) {
    const name = `${o.method} ${o.path}`;
    if (o.path.startsWith('/admin/') && o.method !== 'OPTIONS') {
      // Only the answer without a key: with one, the drill would run.
      const r = await probe(keyed, o);
      if (r.status === 401) pass(`${name} needs an API key (401 without one)`);
      else fail(`${name} needs an API key: without one it answered ${r.status}`);
      continue;
    }
    if (unserved.has(name)) continue;
    const bare = await probe(keyed, o);
    if (o.open) {
      if (bare.status !== 401) pass(`${name} is open (no key: ${bare.status})`);
      else fail(`${name} is documented as open but answered 401 without a key`);
      continue;
    }
    const bearer = await probe(keyed, o, { authorization: `Bearer ${key}` });
    if (o.portal) {
      // An API key is no portal token (tests/integration/portal.test.mjs
      // checks what a real token opens).
      if (bare.status === 401 && bearer.status === 401) pass(`${name} needs a portal token (401 without; 401 with an API key)`);
      else fail(`${name} needs a portal token: without ${bare.status}, with an API key ${bearer.status}`);
      continue;
    }
    const header = await probe(keyed, o, { 'x-api-key': key });
    if (bare.status === 401 && bearer.status !== 401 && header.status !== 401) {
      pass(`${name} needs an API key (401 without; ${bearer.status} with Bearer; ${header.status} with x-api-key)`);
    } else {
      fail(`${name} needs an API key: without ${bare.status}, Bearer ${bearer.status}, x-api-key ${header.status}`);
    }
  }
} finally {
  await keyed.stop();
  await stopAll();
}

process.exit(failures ? 1 : 0);
