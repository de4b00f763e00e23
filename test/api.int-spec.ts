/**
 * The HTTP API against real Redis and PostgreSQL, with the worker consuming: intake, patient view,
 * timeline, tasks, dead letters and their replay, OpenAPI.
 */
import { createHash } from 'node:crypto';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { DeadLetterStore } from '@app/store';
import { createTestDatabase, type TestDatabase } from './support/database';
import { marginPositiveJourney } from './support/events';
import { uniquePrefix, waitFor } from './support/queues';
import { startWorker } from './support/worker';
import { startApi, seedDemoTeams } from './support/api';

let db: TestDatabase;
let api: INestApplication;
let worker: INestApplicationContext;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase('api');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('api');
  worker = await startWorker({ databaseUrl: db.url, prefix });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix }));
});
afterAll(async () => {
  await api.close();
  await worker.close();
  await db.drop();
});

// The demo seed's keys (config/demo-teams.json): who may call what is tested in test/access.
const INTEGRATION = 'demo-integration-key';
const NAVIGATOR = 'demo-navigator-key';
const LEAD = 'demo-lead-key';

const get = async (path: string, key = NAVIGATOR) => {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as any };
};
const post = async (path: string, body?: unknown, key = INTEGRATION) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

it('accepts a journey over HTTP and shows the patient, timeline and tasks', async () => {
  const journey = marginPositiveJourney('api-r1', 'P-API-R1');
  for (const event of journey) {
    expect(await post('/events', event)).toEqual({ status: 202, body: { eventId: event.eventId, status: 'accepted' } });
  }
  const patient = await waitFor(
    () => get('/patients/P-API-R1'),
    (r) => r.status === 200 && r.body.version === 3,
    { what: 'patient at version 3' },
  );
  expect(patient.body.state).toBe('re-excision-review');
  expect(patient.body.risk).toMatchObject({ grade: 3, highRisk: true, margin: 'R1' });
  expect(patient.body.openTasks.map((t: { type: string }) => t.type)).toEqual(
    expect.arrayContaining(['re-excision-review', 'mdt-review']),
  );

  const timeline = await get('/patients/P-API-R1/timeline');
  expect(timeline.body.events.map((e: { eventId: string }) => e.eventId)).toEqual(journey.map((e) => e.eventId));
  const pathologyEffects = timeline.body.events[2].effects as { ruleId: string }[];
  expect(pathologyEffects.map((e) => e.ruleId)).toContain('R-MARGIN-R1');

  // Posted in order, applied in order: no event was seen as late, so no data-quality review.
  expect(timeline.body.events.map((e: { outcome: string }) => e.outcome)).toEqual(['applied', 'applied', 'applied']);
  expect(patient.body.openTasks.filter((t: { type: string }) => t.type === 'data-quality-review')).toEqual([]);

  // The re-excision review went to the surgical team: its lead sees it in GET /tasks (a key made by the admin API).
  const surgical = await get('/teams/surgical-oncology', 'demo-admin-key');
  const surgicalLead = surgical.body.members.find((m: { role: string }) => m.role === 'navigator-lead');
  const key = await post(
    '/api-keys',
    { role: 'lead', memberId: surgicalLead.id, label: 'surgical lead' },
    'demo-admin-key',
  );
  expect(key.status).toBe(201);
  const tasks = await waitFor(
    () => get('/tasks?patientId=P-API-R1&type=re-excision-review', key.body.secret),
    (r) => r.body.items?.[0]?.teamCode === 'surgical-oncology',
    { what: 'the re-excision review routed to the surgical team' },
  );
  expect(tasks.body.items).toHaveLength(1);
  expect(tasks.body.items[0]).toMatchObject({
    patientId: 'P-API-R1',
    type: 're-excision-review',
    ruleId: 'R-MARGIN-R1',
    priority: 'high',
    status: 'requested',
  });
  expect(tasks.body.items[0]).toEqual(
    expect.objectContaining({ id: expect.any(String), dueAt: expect.any(String), createdAt: expect.any(String) }),
  );
});

it('rejects an invalid event with 400 naming each bad field, and keeps it as a dead letter', async () => {
  const event = marginPositiveJourney('api-bad', 'P-API-BAD')[2] as any;
  const bad = { ...event, occurredAt: '2025-02-10', payload: { ...event.payload, margin: 'R4', extra: 1 } };
  const res = await post('/events', bad);
  expect(res.status).toBe(400);
  const fields = res.body.errors.map((e: { field: string }) => e.field);
  expect(fields).toEqual(expect.arrayContaining(['occurredAt', 'payload.margin', 'payload.extra']));

  const letters = await get('/dead-letters?status=open', LEAD);
  const letter = letters.body.items.find((l: { id: number }) => l.id === res.body.deadLetterId);
  expect(letter).toMatchObject({ channel: 'http', eventId: 'api-bad-3', payload: bad });

  // Replaying it unchanged is refused with the reasons; with a corrected event it goes through.
  const still = await post(`/dead-letters/${letter.id}/replay`, undefined, LEAD);
  expect(still.status).toBe(422);
  const corrected = { ...event };
  const replayed = await post(`/dead-letters/${letter.id}/replay`, { event: corrected }, LEAD);
  expect(replayed).toEqual({
    status: 202,
    body: { deadLetterId: letter.id, eventId: 'api-bad-3', status: 'accepted' },
  });
  // applied: in the event log (its data-quality review went to the navigators team, so this sarcoma-north key cannot
  // read the patient: team scope, docs/security.md)
  await waitFor(
    async () => (await db.pool.query(`SELECT 1 FROM clinical_events WHERE event_id = 'api-bad-3'`)).rowCount,
    (n) => n === 1,
    { what: 'replayed event applied' },
  );
  expect((await get(`/dead-letters/${letter.id}`, LEAD)).body).toMatchObject({
    status: 'replayed',
    replayedEventId: 'api-bad-3',
  });
  expect((await post(`/dead-letters/${letter.id}/replay`, { event: corrected }, LEAD)).status).toBe(409);
});

it('records the same bad payload sent twice at the same moment as one dead letter, and answers both with it', async () => {
  // Found by the HTTP fuzz test (body `[]` from two lanes at once: 500). The second insert waits for the first one's
  // commit and does nothing; its statement's snapshot predates that commit. Made deterministic here: the first
  // insert is held open in a transaction of its own while the store records the same payload.
  const store = new DeadLetterStore(db.pool);
  const payload = { same: 'payload', at: 'once' };
  const key = createHash('sha256')
    .update(`http\n${JSON.stringify(payload)}`)
    .digest('hex');
  const first = await db.pool.connect();
  try {
    await first.query('BEGIN');
    const { rows } = await first.query<{ id: string }>(
      `INSERT INTO dead_letters (dedupe_key, channel, payload, errors) VALUES ($1, 'http', $2, '[]') RETURNING id`,
      [key, JSON.stringify(payload)],
    );
    const second = store.record('http', payload, [{ field: 'type', reason: 'is required' }]);
    await new Promise((r) => setTimeout(r, 200)); // the second insert is now waiting on the first one's row
    await first.query('COMMIT');
    expect(await second).toMatchObject({ id: rows[0].id, channel: 'http', payload });
  } finally {
    first.release();
  }
});

it('answers 404 for an unknown patient, 400 for a bad filter, and serves the OpenAPI document', async () => {
  expect((await get('/patients/NOBODY')).status).toBe(404);
  expect((await get('/tasks?priority=whenever', LEAD)).status).toBe(400);
  const doc = await get('/docs/openapi.json');
  expect(Object.keys(doc.body.paths)).toEqual(
    expect.arrayContaining([
      '/events',
      '/patients/{patientId}',
      '/patients/{patientId}/timeline',
      '/tasks',
      '/dead-letters',
      '/dead-letters/{id}/replay',
    ]),
  );
  expect((await get('/health/ready')).body).toMatchObject({
    status: 'ok',
    info: { postgres: { status: 'up' }, migrations: { status: 'up' } },
  });
});
