/**
 * Our tasks as FHIR R4 for downstream systems (GET /fhir/Task, /fhir/ServiceRequest), with the demo teams and keys
 * and the worker consuming real events: searches by patient, status, owner and _lastUpdated answer what the tasks
 * table holds; Bundles page; reads by id; imaging orders only as ServiceRequests; errors are OperationOutcomes with
 * 400/401/403/404/406; navigator keys see their team; every resource returned validates as R4.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { FakeClock } from '@app/store';
import { r4Problems } from '../../libs/interop/src/fhir/r4-validation';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { localRecurrenceJourney, marginPositiveJourney } from '../support/events';
import { uniquePrefix, waitFor } from '../support/queues';
import { startWorker } from '../support/worker';
import { startApi, seedDemoTeams } from '../support/api';

const clock = new FakeClock(new Date('2030-06-01T08:00:00.000Z'));
let db: TestDatabase;
let api: INestApplication;
let worker: INestApplicationContext;
let base: string;

const INTEGRATION = 'demo-integration-key';
const NAVIGATOR = 'demo-navigator-key'; // Maren Holt, navigator, sarcoma-north
const ADMIN = 'demo-admin-key';
const PUBLIC_BASE = 'https://pathway.example';
const FHIR_BASE = `${PUBLIC_BASE}/fhir`;
const RULE_SYSTEM = 'https://sarcoma-pathway.example/fhir/CodeSystem/pathway-rule';

beforeAll(async () => {
  db = await createTestDatabase('fhir_tasks');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('fhir-tasks');
  worker = await startWorker({ databaseUrl: db.url, prefix, clock });
  ({ app: api, base } = await startApi({
    databaseUrl: db.url,
    prefix,
    clock,
    config: { PUBLIC_BASE_URL: PUBLIC_BASE },
  }));
});
afterAll(async () => {
  await api?.close();
  await worker?.close();
  await db?.drop();
});

async function get(path: string, key: string | null = INTEGRATION) {
  const res = await fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
}
async function post(path: string, key: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}
const ids = (bundle: any): string[] => (bundle.entry ?? []).map((e: any) => e.resource.id).sort();
async function dbIds(sql: string, params: unknown[]): Promise<string[]> {
  return (await db.pool.query<{ id: string }>(`SELECT id FROM tasks WHERE ${sql}`, params)).rows
    .map((r) => r.id)
    .sort();
}

const recurrence = localRecurrenceJourney('fh', 'P-FHIR-1');

let tasks1: any[]; // P-FHIR-1's tasks as FHIR
let ctOrder: any;
let mriOrder: any;
let mdtReview: any;
let maren: string; // the sarcoma-north navigator's member id
let allTaskIds: string[];

it('search by patient: a searchset Bundle of exactly that patient’s tasks, each a valid R4 Task', async () => {
  for (const event of [...recurrence, ...marginPositiveJourney('fh-m', 'P-FHIR-2')])
    expect((await post('/events', INTEGRATION, event)).status).toBe(202);
  // every task routed to a person (the owner) before looking
  await waitFor(
    async () =>
      (
        await db.pool.query<{ n: number; routed: number }>(
          `SELECT count(*)::int AS n, count(assignee_id)::int AS routed FROM tasks WHERE patient_id IN ('P-FHIR-1', 'P-FHIR-2')`,
        )
      ).rows[0],
    (r) => r.n >= 5 && r.routed === r.n,
    { what: 'both patients’ tasks created and routed' },
  );
  allTaskIds = await dbIds('true', []);

  const res = await get('/fhir/Task?patient=Patient/P-FHIR-1');
  expect(res.status).toBe(200);
  expect(res.type).toBe('application/fhir+json; charset=utf-8');
  const bundle = res.body;
  expect(ids(bundle)).toEqual(await dbIds('patient_id = $1', ['P-FHIR-1']));
  expect(bundle).toMatchObject({
    resourceType: 'Bundle',
    type: 'searchset',
    total: 5,
    link: [{ relation: 'self', url: `${FHIR_BASE}/Task?patient=Patient%2FP-FHIR-1&_count=50&_offset=0` }],
  });
  expect(bundle.entry).toHaveLength(5);
  for (const entry of bundle.entry) {
    expect(entry).toEqual({
      fullUrl: `${FHIR_BASE}/Task/${entry.resource.id}`,
      resource: expect.objectContaining({
        resourceType: 'Task',
        for: { reference: 'Patient/P-FHIR-1', type: 'Patient' },
      }),
      search: { mode: 'match' },
    });
  }
  expect(r4Problems(bundle)).toEqual([]);
  // the bare id is the same search
  expect(ids((await get('/fhir/Task?patient=P-FHIR-1')).body)).toEqual(ids(bundle));
  expect((await get('/fhir/Task?patient=P-NOBODY')).body).toMatchObject({ total: 0 });

  tasks1 = bundle.entry.map((e: any) => e.resource);
  const byCode = (code: string) => tasks1.filter((t) => t.code.coding[0].code === code);
  expect(tasks1.map((t) => `${t.code.coding[0].code} ${t.priority} ${t.reasonCode.coding[0].code}`).sort()).toEqual([
    'data-quality-review routine R-UNEXPECTED',
    'imaging-order asap R-LR-ESCALATE',
    'imaging-order asap R-LR-ESCALATE',
    'mdt-review asap R-LR-ESCALATE',
    'mdt-review routine R-MDT-NEW', // opened at registration, still open
  ]);
  mdtReview = byCode('mdt-review').find((t) => t.reasonCode.coding[0].code === 'R-LR-ESCALATE');
  ctOrder = byCode('imaging-order').find((t) => t.description.includes('chest CT'));
  mriOrder = byCode('imaging-order').find((t) => t.description.includes('MRI'));
  expect(ctOrder && mriOrder && ctOrder.id !== mriOrder.id).toBe(true);
});

it('a Task says what, why (the rule), for whom, who has it, what it is about and by when', async () => {
  const team = (await get('/teams/sarcoma-north', ADMIN)).body;
  maren = team.members.find((m: { email: string }) => m.email === 'maren.holt@hospital.example').id;
  const coordinator = (await get('/teams/tumour-board', ADMIN)).body.members.find(
    (m: { role: string }) => m.role === 'coordinator',
  ).id;
  const row = (
    await db.pool.query(`SELECT event_id, created_at, updated_at, due_at FROM tasks WHERE id = $1`, [mdtReview.id])
  ).rows[0];
  expect(mdtReview).toEqual({
    resourceType: 'Task',
    id: mdtReview.id,
    meta: { lastUpdated: row.updated_at },
    identifier: [
      { use: 'official', system: 'https://sarcoma-pathway.example/fhir/NamingSystem/task-id', value: mdtReview.id },
    ],
    status: 'requested',
    intent: 'order',
    priority: 'asap',
    code: {
      coding: [
        {
          system: 'https://sarcoma-pathway.example/fhir/CodeSystem/task-type',
          code: 'mdt-review',
          display: 'Multidisciplinary team (tumour board) review',
        },
      ],
      text: 'Multidisciplinary team (tumour board) review',
    },
    description: expect.stringMatching(/^local recurrence .*urgent MDT review \(R-LR-ESCALATE\)$/),
    focus: {
      identifier: { system: 'https://sarcoma-pathway.example/fhir/NamingSystem/clinical-event-id', value: 'fh-5' },
      display: 'clinical event',
    },
    for: { reference: 'Patient/P-FHIR-1', type: 'Patient' },
    authoredOn: row.created_at,
    lastModified: row.updated_at,
    owner: { reference: `Practitioner/${coordinator}`, type: 'Practitioner' },
    reasonCode: { coding: [{ system: RULE_SYSTEM, code: 'R-LR-ESCALATE' }] },
    restriction: { period: { end: row.due_at } },
  });
  expect(row.event_id).toBe('fh-5');
  // the imaging orders point at their ServiceRequests and are the sarcoma-north navigator's
  expect(ctOrder.focus).toEqual({ reference: `ServiceRequest/${ctOrder.id}`, type: 'ServiceRequest' });
  expect(mriOrder.focus).toEqual({ reference: `ServiceRequest/${mriOrder.id}`, type: 'ServiceRequest' });
  expect([ctOrder.owner, mriOrder.owner]).toEqual([
    { reference: `Practitioner/${maren}`, type: 'Practitioner' },
    { reference: `Practitioner/${maren}`, type: 'Practitioner' },
  ]);
});

it('GET /fhir/Task/{id}: the same resource as in the search; an unknown id is a 404 OperationOutcome', async () => {
  const res = await get(`/fhir/Task/${mdtReview.id}`);
  expect(res).toMatchObject({ status: 200, type: 'application/fhir+json; charset=utf-8' });
  expect(res.body).toEqual(mdtReview);
  expect(r4Problems(res.body)).toEqual([]);
  for (const id of ['00000000-0000-4000-8000-00000000ffff', 'not-a-uuid']) {
    const missing = await get(`/fhir/Task/${id}`);
    expect(missing).toMatchObject({ status: 404, type: 'application/fhir+json; charset=utf-8' });
    expect(missing.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', diagnostics: `Task/${id} is not known` }],
    });
    expect(r4Problems(missing.body)).toEqual([]);
  }
});

it('search by status (comma = any of) and by owner (Practitioner/<id> or bare); status=bogus is a 400', async () => {
  clock.set('2030-06-01T09:00:00.000Z');
  expect((await post(`/tasks/${ctOrder.id}/accept`, NAVIGATOR)).body.status).toBe('accepted');

  const accepted = (await get('/fhir/Task?status=accepted')).body;
  expect(ids(accepted)).toEqual([ctOrder.id]);
  expect(accepted.entry[0].resource).toMatchObject({
    status: 'accepted',
    executionPeriod: { start: '2030-06-01T09:00:00.000Z' },
  });
  expect(ids((await get('/fhir/Task?status=requested,accepted')).body)).toEqual(
    await dbIds(`status IN ('requested', 'accepted')`, []),
  );
  expect((await get('/fhir/Task?status=completed')).body).toMatchObject({ total: 0 });
  expect((await get('/fhir/Task?status=requested,accepted')).body.total).toBe(
    (await dbIds(`status IN ('requested', 'accepted')`, [])).length,
  );

  const mine = await dbIds('assignee_id = $1', [maren]);
  expect(mine.length).toBeGreaterThanOrEqual(3);
  expect(ids((await get(`/fhir/Task?owner=Practitioner/${maren}`)).body)).toEqual(mine);
  expect(ids((await get(`/fhir/Task?owner=${maren}`)).body)).toEqual(mine);
  expect(ids((await get(`/fhir/Task?owner=${maren}&status=accepted&patient=P-FHIR-1`)).body)).toEqual([ctOrder.id]);
  expect((await get('/fhir/Task?owner=Practitioner/someone-else')).body).toMatchObject({ total: 0 });

  for (const [query, diagnostics] of [
    ['status=bogus', "status: 'bogus' is not a FHIR task-status code"],
    ['status=accepted,active', "status: 'active' is not a FHIR task-status code"],
    ['owner=Organization/sarcoma-north', 'owner: only Practitioner/<id> references are searchable here'],
  ]) {
    const bad = await get(`/fhir/Task?${query}`);
    expect(bad).toMatchObject({ status: 400, type: 'application/fhir+json; charset=utf-8' });
    expect(bad.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: expect.stringContaining(diagnostics) }],
    });
    expect(r4Problems(bad.body)).toEqual([]);
  }
});

it('search by _lastUpdated with FHIR prefixes (repeatable: a range); a bad date is a 400', async () => {
  // everything so far was written at 08:00 or 09:00 (the fake clock); hold the MRI order at 10:30
  clock.set('2030-06-01T10:30:00.000Z');
  expect((await post(`/tasks/${mriOrder.id}/accept`, NAVIGATOR)).status).toBe(200);
  expect((await post(`/tasks/${mriOrder.id}/hold`, NAVIGATOR, { reason: 'scanner down' })).body.status).toBe('on-hold');
  const q = async (query: string) => ids((await get(`/fhir/Task?${query}`)).body);

  expect(await q('_lastUpdated=ge2030-06-01T10:00:00Z')).toEqual([mriOrder.id]);
  expect(await q('_lastUpdated=gt2030-06-01T10:30:00.000Z')).toEqual([]);
  expect(await q('_lastUpdated=eq2030-06-01T10:30:00Z')).toEqual([mriOrder.id]);
  expect(await q('_lastUpdated=gt2030-06-01T09:00:00Z')).toEqual([mriOrder.id]);
  // 09:00 sharp is the accepted CT order: ge includes it, gt (above that second) does not
  expect(await q('_lastUpdated=ge2030-06-01T09:00:00Z')).toEqual([ctOrder.id, mriOrder.id].sort());
  expect(await q('_lastUpdated=ge2030-06-01T09:00:00Z&_lastUpdated=lt2030-06-01T10:00:00Z')).toEqual([ctOrder.id]);
  // a day: everything was updated on 2030-06-01 (UTC), nothing before or after it
  expect(await q('_lastUpdated=2030-06-01')).toEqual(allTaskIds);
  expect(await q('_lastUpdated=lt2030-06-01')).toEqual([]);
  expect(await q('_lastUpdated=gt2030-06-01')).toEqual([]);
  expect(await q('_lastUpdated=le2030-06-01T08:00:00Z')).toEqual(
    await dbIds(`updated_at < '2030-06-01T08:00:01Z'`, []),
  );
  expect((await q('_lastUpdated=le2030-06-01T08:00:00Z')).length).toBe(allTaskIds.length - 2);

  for (const [query, diagnostics] of [
    ['_lastUpdated=2030-13-01', "'2030-13-01' is not a valid date"],
    ['_lastUpdated=yesterday', "'yesterday' is not a FHIR date search value"],
    ['_lastUpdated=ne2030-06-01', "date prefix 'ne' is not supported"],
    ['_lastUpdated=ge2030-06-01T10:00:00%2B15:00', 'invalid time zone offset'],
  ]) {
    const bad = await get(`/fhir/Task?${query}`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue).toEqual([
      { severity: 'error', code: 'invalid', diagnostics: expect.stringContaining(diagnostics) },
    ]);
  }
});

it('pages with _count and _offset: total stays, next and previous links; _count=0 is the total alone', async () => {
  const all = (await get('/fhir/Task?_count=500')).body;
  expect(all.total).toBe(allTaskIds.length);
  expect(ids(all)).toEqual(allTaskIds);
  const order = all.entry.map((e: any) => e.resource.id);
  // ordered by last update, then id
  const updated = all.entry.map((e: any) => `${e.resource.meta.lastUpdated} ${e.resource.id}`);
  expect(updated).toEqual([...updated].sort());

  const page = (await get('/fhir/Task?_count=2&_offset=2')).body;
  expect(page.total).toBe(allTaskIds.length);
  expect(page.entry.map((e: any) => e.resource.id)).toEqual(order.slice(2, 4));
  expect(page.link).toEqual([
    { relation: 'self', url: `${FHIR_BASE}/Task?_count=2&_offset=2` },
    { relation: 'next', url: `${FHIR_BASE}/Task?_count=2&_offset=4` }, // there are more than 4 tasks
    { relation: 'previous', url: `${FHIR_BASE}/Task?_count=2&_offset=0` },
  ]);
  const totalOnly = (await get('/fhir/Task?_count=0&patient=P-FHIR-1')).body;
  expect(totalOnly).toEqual({
    resourceType: 'Bundle',
    type: 'searchset',
    total: 5,
    link: [{ relation: 'self', url: `${FHIR_BASE}/Task?patient=P-FHIR-1&_count=0&_offset=0` }],
  });
  expect(r4Problems(totalOnly)).toEqual([]);
  const past = (await get('/fhir/Task?_offset=100')).body;
  expect(past).toMatchObject({ total: allTaskIds.length });
  expect(past.entry).toBeUndefined();
  // a page larger than the maximum is cut to it, not refused
  expect((await get('/fhir/Task?_count=100000')).body.link[0].url).toBe(`${FHIR_BASE}/Task?_count=500&_offset=0`);
  for (const query of ['_count=-1', '_count=ten', '_offset=1.5'])
    expect((await get(`/fhir/Task?${query}`)).status).toBe(400);
});

it('ServiceRequest: imaging orders only, with their status mapped; other tasks are not ServiceRequests (404)', async () => {
  const res = await get('/fhir/ServiceRequest?patient=P-FHIR-1');
  expect(res).toMatchObject({ status: 200, type: 'application/fhir+json; charset=utf-8' });
  expect(ids(res.body)).toEqual(await dbIds(`type = 'imaging-order' AND patient_id = $1`, ['P-FHIR-1']));
  expect(ids(res.body)).toEqual([ctOrder.id, mriOrder.id].sort());
  expect(r4Problems(res.body)).toEqual([]);
  const byId = Object.fromEntries(res.body.entry.map((e: any) => [e.resource.id, e]));
  expect(byId[ctOrder.id].fullUrl).toBe(`${FHIR_BASE}/ServiceRequest/${ctOrder.id}`);
  expect(byId[ctOrder.id].resource).toMatchObject({
    resourceType: 'ServiceRequest',
    status: 'active', // accepted
    intent: 'order',
    priority: 'asap',
    category: [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005' }] }],
    code: { coding: [{ code: 'CT-chest' }], text: 'CT of the chest' },
    subject: { reference: 'Patient/P-FHIR-1' },
    occurrencePeriod: { end: ctOrder.restriction.period.end },
    reasonCode: [{ coding: [{ system: RULE_SYSTEM, code: 'R-LR-ESCALATE' }] }],
    authoredOn: ctOrder.authoredOn,
  });
  expect(byId[mriOrder.id].resource).toMatchObject({
    status: 'on-hold',
    code: { coding: [{ code: 'MRI-primary-site' }] },
  });

  expect(ids((await get('/fhir/ServiceRequest?status=on-hold')).body)).toEqual([mriOrder.id]);
  expect(ids((await get('/fhir/ServiceRequest?status=active,on-hold&patient=P-FHIR-1')).body)).toEqual(
    [ctOrder.id, mriOrder.id].sort(),
  );
  expect((await get('/fhir/ServiceRequest?status=revoked,completed,draft')).body).toMatchObject({ total: 0 });
  expect((await get('/fhir/ServiceRequest?_lastUpdated=ge2030-06-01T10:00:00Z')).body.entry[0].resource.id).toBe(
    mriOrder.id,
  );
  // the whole table's imaging orders, no other type
  expect(ids((await get('/fhir/ServiceRequest?_count=500')).body)).toEqual(await dbIds(`type = 'imaging-order'`, []));

  const one = await get(`/fhir/ServiceRequest/${mriOrder.id}`);
  expect(one.status).toBe(200);
  expect(one.body).toEqual(byId[mriOrder.id].resource);
  expect(r4Problems(one.body)).toEqual([]);
  const notAnOrder = await get(`/fhir/ServiceRequest/${mdtReview.id}`);
  expect(notAnOrder.status).toBe(404);
  expect(notAnOrder.body.issue[0]).toMatchObject({ code: 'not-found' });
  for (const query of ['status=requested', 'owner=' + maren]) {
    const bad = await get(`/fhir/ServiceRequest?${query}`);
    expect(bad.status).toBe(400);
    expect(bad.body.resourceType).toBe('OperationOutcome');
  }
});

it('unknown parameters and formats are refused; no key is a 401 and an admin key a 403, as OperationOutcomes', async () => {
  for (const query of ['_sort=-_lastUpdated', 'status:not=completed', 'code=mdt-review']) {
    const bad = await get(`/fhir/Task?${query}`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue).toEqual([
      { severity: 'error', code: 'not-supported', diagnostics: expect.stringContaining('unknown search parameter') },
    ]);
  }
  expect((await get('/fhir/Task?_format=xml')).status).toBe(406);
  expect((await get('/fhir/Task?_format=json&patient=P-FHIR-1')).body.total).toBe(5);
  // an empty parameter is ignored (FHIR), not an error
  expect((await get('/fhir/Task?status=&_count=500')).body.total).toBe(allTaskIds.length);

  const none = await get('/fhir/Task', null);
  expect(none).toMatchObject({ status: 401, type: 'application/fhir+json; charset=utf-8' });
  expect(none.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] });
  const admin = await get(`/fhir/Task/${mdtReview.id}`, ADMIN);
  expect(admin.status).toBe(403);
  expect(admin.body.issue[0].code).toBe('forbidden');
  for (const body of [none.body, admin.body]) expect(r4Problems(body)).toEqual([]);
});

it("a navigator key sees its team's tasks (and unrouted ones); another team's task is a 403", async () => {
  const north = await dbIds(`team_code = 'sarcoma-north' OR team_code IS NULL`, []);
  expect(north.length).toBeGreaterThanOrEqual(3);
  expect(north.length).toBeLessThan(allTaskIds.length);
  const seen = (await get('/fhir/Task?_count=500', NAVIGATOR)).body;
  expect({ total: seen.total, ids: ids(seen) }).toEqual({ total: north.length, ids: north });
  expect((await get(`/fhir/Task/${ctOrder.id}`, NAVIGATOR)).status).toBe(200);
  const other = await get(`/fhir/Task/${mdtReview.id}`, NAVIGATOR); // tumour-board's
  expect(other.status).toBe(403);
  expect(other.body.issue[0]).toMatchObject({ code: 'forbidden' });
  // the lead key (sarcoma-north) sees the same; integration keys see every task
  expect(ids((await get('/fhir/Task?_count=500', 'demo-lead-key')).body)).toEqual(north);
  expect(ids((await get('/fhir/Task?_count=500')).body)).toEqual(allTaskIds);
});
