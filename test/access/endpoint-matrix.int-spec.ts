/**
 * The full endpoint × role matrix (issue: who may do what). The endpoints come from the api's own OpenAPI document,
 * so a new route that is not in ACCESS below fails this test until someone decides who may call it. Every cell is
 * a real request: no key and a revoked key get 401; a role not allowed gets 403; an allowed role gets past the guard
 * (whatever the handler then answers: 200, 400 for an empty body, 404 for a made-up id). Then the cells where team
 * scope applies, with keys of another team (docs/security.md, "Team scope").
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { ApiKeyStore } from '@app/store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { localRecurrenceJourney } from '../support/events';
import { UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { startApi, seedDemoTeams } from '../support/api';
import { startWorker } from '../support/worker';

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
  'GET /worklist/summary': ['navigator', 'lead'],
  'GET /me': ['navigator', 'lead'],
  'GET /rules': ['navigator', 'lead'],
  'GET /team/load': ['lead'],
  'GET /team/escalations': ['lead'],
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
let prefix: string;
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
  prefix = uniquePrefix('matrix');
  queue = new UpstreamPublisher(prefix);
  // no limit on failed authentications here: the revoked-key cells are 35 of them in a second
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix, config: { AUTH_FAILURE_LIMIT: 0 } }));
});
afterAll(async () => {
  await api.close();
  await queue.destroy();
  await db.drop();
});

async function call(method: string, path: string, key?: string, body = '{}'): Promise<number> {
  return (await answer(method, path, key, body)).status;
}

async function answer(method: string, path: string, key?: string, body = '{}'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: method === 'GET' || method === 'DELETE' ? undefined : body,
  });
  const text = await res.text();
  const isJson = /json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, json: isJson && text ? JSON.parse(text) : text };
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

/**
 * Team scope: keys of sarcoma-south against a patient of sarcoma-north (care team sarcoma-north, a local recurrence:
 * imaging orders routed to sarcoma-north, the MDT review to tumour-board). A navigator or lead of another team can
 * neither read the patient (404, as for an id that does not exist: no confirmation that an MRN is on file) nor read,
 * act on or reassign the task (403), nor find it in a list; the same keys of sarcoma-north can.
 */
describe('a key of another team', () => {
  const PATIENT = 'P-MATRIX-TEAM-A';
  let worker: INestApplicationContext;
  const south = { navigator: '', lead: '', navigatorId: '' };
  let task: { id: string; assigneeId: string };

  beforeAll(async () => {
    worker = await startWorker({ databaseUrl: db.url, prefix });
    const members = await db.pool.query<{ id: string; role: string }>(
      `SELECT id, role FROM team_members WHERE team_code = 'sarcoma-south'`,
    );
    const id = (role: string) => members.rows.find((m) => m.role === role)!.id;
    const store = new ApiKeyStore(db.pool);
    south.navigatorId = id('navigator');
    south.navigator = (
      await store.createKey({ role: 'navigator', memberId: id('navigator'), label: 'south nav' })
    ).secret;
    south.lead = (await store.createKey({ role: 'lead', memberId: id('navigator-lead'), label: 'south lead' })).secret;
    await queue.publish(localRecurrenceJourney('matrix-team', PATIENT));
    task = await waitFor(
      async () =>
        (
          await db.pool.query<{ id: string; assigneeId: string }>(
            `SELECT id, assignee_id AS "assigneeId" FROM tasks
              WHERE patient_id = $1 AND type = 'imaging-order' AND team_code = 'sarcoma-north' AND assignee_id IS NOT NULL`,
            [PATIENT],
          )
        ).rows[0],
      (row) => row !== undefined,
      { what: 'an imaging order routed to sarcoma-north' },
    );
  });
  afterAll(async () => {
    await worker?.close();
  });

  it('reads: the patient is 404 to another team (as an unknown id is), the task 403; its own team gets both; a team with a task of the patient reads the patient', async () => {
    const cells: string[] = [];
    const reads: [string, string][] = [
      ['GET /patients/{patientId}', `/patients/${PATIENT}`],
      ['GET /patients/{patientId}/timeline', `/patients/${PATIENT}/timeline`],
      ['GET /tasks/{id}', `/tasks/${task.id}`],
      ['GET /fhir/Task/{id}', `/fhir/Task/${task.id}`],
      ['GET /fhir/ServiceRequest/{id}', `/fhir/ServiceRequest/${task.id}`],
    ];
    for (const [route, path] of reads)
      for (const [who, key] of [
        ['own navigator', keys.navigator],
        ['own lead', keys.lead],
        ['other navigator', south.navigator],
        ['other lead', south.lead],
      ])
        cells.push(`${route} ${who}→${await call('GET', path, key)}`);
    expect(cells).toEqual(
      reads.flatMap(([route]) => {
        const refused = route.startsWith('GET /patients') ? 404 : 403;
        return [
          `${route} own navigator→200`,
          `${route} own lead→200`,
          `${route} other navigator→${refused}`,
          `${route} other lead→${refused}`,
        ];
      }),
    );
    // a team that has one of the patient's tasks (tumour-board: the MDT review) may read the patient, not the task
    const board = await db.pool.query<{ id: string }>(
      `SELECT id FROM team_members WHERE team_code = 'tumour-board' AND role = 'navigator-lead'`,
    );
    const boardLead = (
      await new ApiKeyStore(db.pool).createKey({ role: 'lead', memberId: board.rows[0].id, label: 'board lead' })
    ).secret;
    expect([
      await call('GET', `/patients/${PATIENT}`, boardLead),
      await call('GET', `/tasks/${task.id}`, boardLead),
    ]).toEqual([200, 403]);
    // the refusal of a patient is word for word the answer for an id that does not exist
    const refusal = await answer('GET', `/patients/${PATIENT}`, south.navigator);
    const unknown = await answer('GET', '/patients/P-NOBODY-AT-ALL', south.navigator);
    expect(refusal).toEqual(unknown);
    expect(JSON.stringify(refusal.json)).not.toContain(PATIENT);
  });

  it("lists: another team finds none of the patient's tasks in its worklist, GET /tasks or FHIR search", async () => {
    const count = async (path: string, key: string) => {
      const { status, json } = await answer('GET', path, key);
      expect(status).toBe(200);
      const ids: string[] = (json.items ?? json.entry?.map((e: any) => e.resource) ?? []).map((t: any) => t.id);
      return ids.includes(task.id) ? 'listed' : 'absent';
    };
    const cells = [
      `worklist team: own ${await count('/worklist?scope=team', keys.navigator)}, other ${await count('/worklist?scope=team', south.navigator)}`,
      `GET /tasks: own ${await count(`/tasks?patientId=${PATIENT}`, keys.lead)}, other ${await count(`/tasks?patientId=${PATIENT}`, south.lead)}`,
      `FHIR Task: own ${await count(`/fhir/Task?patient=${PATIENT}`, keys.navigator)}, other ${await count(`/fhir/Task?patient=${PATIENT}`, south.navigator)}`,
    ];
    expect(cells).toEqual([
      'worklist team: own listed, other absent',
      'GET /tasks: own listed, other absent',
      'FHIR Task: own listed, other absent',
    ]);
  });

  it('acts: another team may not accept, hold, cancel or reassign the task; a lead may not hand it to another team', async () => {
    const before = await answer('GET', `/tasks/${task.id}`, keys.lead);
    const cells = [
      `accept other navigator→${await call('POST', `/tasks/${task.id}/accept`, south.navigator)}`,
      `hold other navigator→${await call('POST', `/tasks/${task.id}/hold`, south.navigator, '{"reason":"mine now"}')}`,
      `cancel other lead→${await call('POST', `/tasks/${task.id}/cancel`, south.lead, '{"reason":"not ours"}')}`,
      `reassign other lead→${await call('POST', `/tasks/${task.id}/reassign`, south.lead, JSON.stringify({ assigneeId: south.navigatorId, reason: 'take it' }))}`,
      `reassign own lead to another team's navigator→${await call('POST', `/tasks/${task.id}/reassign`, keys.lead, JSON.stringify({ assigneeId: south.navigatorId, reason: 'move it' }))}`,
    ];
    expect(cells).toEqual([
      'accept other navigator→403',
      'hold other navigator→403',
      'cancel other lead→403',
      'reassign other lead→403',
      "reassign own lead to another team's navigator→422",
    ]);
    // nothing changed: same status, same assignee, same history
    expect(await answer('GET', `/tasks/${task.id}`, keys.lead)).toEqual(before);
    expect(before.json.assigneeId).toBe(task.assigneeId);
  });
});
