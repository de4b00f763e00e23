/**
 * The full endpoint × role matrix (issue: who may do what). The endpoints come from the api's own OpenAPI document,
 * so a new route that is not in ACCESS below fails this test until someone decides who may call it. Every cell is
 * a real request: no key and a revoked key get 401; a role not allowed gets 403; an allowed role gets past the guard
 * (whatever the handler then answers: 200, 400 for an empty body, 404 for a made-up id).
 */
import type { INestApplication } from '@nestjs/common';
import { ApiKeyStore } from '@app/store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { UpstreamPublisher, uniquePrefix } from '../support/queues';
import { startApi, seedDemoTeams } from '../support/api';

type Role = 'integration' | 'navigator' | 'lead' | 'admin';

/** Who may call what: the issue's table. `health` is the one open door. */
const ACCESS: Record<string, Role[] | 'public'> = {
  'GET /health': 'public',
  'GET /health/ready': 'public',
  'POST /events': ['integration'],
  'POST /hl7/v2': ['integration'],
  'POST /fhir': ['integration'],
  'GET /metrics': ['admin'],
  'GET /fhir/Task': ['integration', 'navigator', 'lead'],
  'GET /fhir/Task/{id}': ['integration', 'navigator', 'lead'],
  'GET /fhir/ServiceRequest': ['integration', 'navigator', 'lead'],
  'GET /fhir/ServiceRequest/{id}': ['integration', 'navigator', 'lead'],
  'GET /hl7/v2/messages': ['lead'],
  'GET /hl7/v2/messages/{id}': ['lead'],
  'GET /patients/{patientId}': ['navigator', 'lead'],
  'GET /patients/{patientId}/timeline': ['navigator', 'lead'],
  'GET /worklist': ['navigator', 'lead'],
  'GET /tasks': ['lead'],
  'GET /tasks/{id}': ['navigator', 'lead'],
  'POST /tasks/{id}/{action}': ['navigator', 'lead'],
  'POST /tasks/{id}/reassign': ['lead'],
  'GET /dead-letters': ['lead'],
  'GET /dead-letters/{id}': ['lead'],
  'POST /dead-letters/{id}/replay': ['lead'],
  'POST /teams': ['admin'],
  'GET /teams': ['admin'],
  'GET /teams/{code}': ['admin'],
  'POST /teams/{code}/members': ['admin'],
  'PATCH /members/{id}': ['admin'],
  'POST /api-keys': ['admin'],
  'GET /api-keys': ['admin'],
  'DELETE /api-keys/{id}': ['admin'],
};

const SAMPLE_PARAMS: Record<string, string> = {
  patientId: 'P-MATRIX',
  id: '00000000-0000-4000-8000-00000000ffff',
  code: 'no-such-team',
  action: 'accept',
};
const DEAD_LETTER_ID = '999999';

let db: TestDatabase;
let api: INestApplication;
let queue: UpstreamPublisher;
let base: string;
const keys: Record<Role | 'revoked', string> = {
  integration: 'demo-integration-key',
  navigator: 'demo-navigator-key',
  lead: 'demo-lead-key',
  admin: 'demo-admin-key',
  revoked: '',
};

beforeAll(async () => {
  db = await createTestDatabase('matrix');
  await seedDemoTeams(db.pool);
  const store = new ApiKeyStore(db.pool);
  const revoked = await store.createKey({ role: 'admin', label: 'revoked admin' });
  await store.revoke(revoked.id);
  keys.revoked = revoked.secret;
  const prefix = uniquePrefix('matrix');
  queue = new UpstreamPublisher(prefix);
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix }));
});
afterAll(async () => {
  await api.close();
  await queue.destroy();
  await db.drop();
});

async function call(method: string, path: string, key?: string): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
  });
  await res.arrayBuffer();
  return res.status;
}

const concrete = (template: string) =>
  template.startsWith('/dead-letters/{id}')
    ? template.replace('{id}', DEAD_LETTER_ID)
    : template.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLE_PARAMS[name]);

it('every route in the OpenAPI document is in the access table, and every entry of the table is a route', async () => {
  const doc = (await (await fetch(`${base}/docs/openapi.json`)).json()) as { paths: Record<string, object> };
  const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
  );
  expect(routes.sort()).toEqual(Object.keys(ACCESS).sort());
});

it('walks every endpoint with no key, a revoked key and each role: 401, 401, then 403 or through', async () => {
  const cells: string[] = [];
  const expected: string[] = [];
  for (const [route, allowed] of Object.entries(ACCESS)) {
    const [method, template] = route.split(' ');
    const path = concrete(template);
    const none = await call(method, path);
    const revoked = await call(method, path, keys.revoked);
    cells.push(`${route} none→${none === 401 ? 401 : `through(${none})`}`);
    cells.push(`${route} revoked→${revoked === 401 ? 401 : `through(${revoked})`}`);
    expected.push(`${route} none→${allowed === 'public' ? `through(${none})` : 401}`);
    expected.push(`${route} revoked→${allowed === 'public' ? `through(${revoked})` : 401}`);
    for (const role of ['integration', 'navigator', 'lead', 'admin'] as Role[]) {
      const status = await call(method, path, keys[role]);
      const through = status !== 401 && status !== 403;
      cells.push(`${route} ${role}→${through ? 'through' : status}`);
      expected.push(`${route} ${role}→${allowed === 'public' || allowed.includes(role) ? 'through' : 403}`);
    }
  }
  expect(cells).toEqual(expected);
});
