/**
 * The queues board (issue 5, operator views): Bull Board at /queues, outside Nest's router, so it checks API keys
 * itself. Lead and admin keys only, by Bearer or by HTTP Basic with the key as password (what a browser can send);
 * read-only; the clinical-events payloads (which name a patient) are hidden. No worker runs: jobs stay where they
 * were put, so the counts are exact.
 */
import type { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE } from '@app/contracts';
import { redisConnection } from '@app/platform';
import { ApiKeyStore } from '@app/store';
import { HIDDEN_EVENT_DATA } from '../../apps/api/src/queues-dashboard/queues-dashboard';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { clinicalEvent } from '../support/events';
import { REDIS_URL, UpstreamPublisher, uniquePrefix } from '../support/queues';
import { startApi, seedDemoTeams } from '../support/api';

const INTEGRATION = 'demo-integration-key';
const NAVIGATOR = 'demo-navigator-key';
const LEAD = 'demo-lead-key';
const ADMIN = 'demo-admin-key';
const PATIENT = 'P-QUEUES-BOARD-7';

let db: TestDatabase;
let api: INestApplication;
let base: string;
let publisher: UpstreamPublisher;
let notifications: Queue;
let timers: Queue;
let revokedAdmin: string;

beforeAll(async () => {
  db = await createTestDatabase('queues_board');
  await seedDemoTeams(db.pool);
  const store = new ApiKeyStore(db.pool);
  const revoked = await store.createKey({ role: 'admin', label: 'revoked admin' });
  await store.revoke(revoked.id);
  revokedAdmin = revoked.secret;
  const prefix = uniquePrefix('queues-board');
  publisher = new UpstreamPublisher(prefix);
  notifications = new Queue(NOTIFICATIONS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  timers = new Queue(TIMERS_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix }));
});
afterAll(async () => {
  await api.close();
  for (const queue of [notifications, timers]) {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
  await publisher.destroy();
  await db.drop();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const basic = (key: string, user = 'ops') => ({
  authorization: `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`,
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function send(method: string, path: string, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  readOnlyMode: boolean;
  allowRetries: boolean;
  isPaused: boolean;
  jobs: { id: string; name: string; data: unknown }[];
}

async function boardQueues(query = ''): Promise<BoardQueue[]> {
  const res = await get(`/queues/api/queues${query}`, bearer(LEAD));
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { queues: BoardQueue[] }).queues;
}

const countsOf = (queues: BoardQueue[]) =>
  Object.fromEntries(queues.map((q) => [q.name, { waiting: q.counts.waiting, delayed: q.counts.delayed }]));

describe('who may open the board', () => {
  it.each(['/queues', '/queues/api/queues', '/queues/static/favicon-32x32.png'])(
    'no key on %s: 401 with the Basic challenge, so a browser prompts',
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="queues"');
      expect(res.text).not.toContain(CLINICAL_EVENTS_QUEUE);
    },
  );

  it.each([
    ['an unknown key by Bearer', bearer('not-a-key-of-ours')],
    ['an unknown key by Basic', basic('not-a-key-of-ours')],
    ['a revoked admin key by Basic', () => basic(revokedAdmin)],
    [
      'the key as Basic user name with no password',
      { authorization: `Basic ${Buffer.from(`${LEAD}:`).toString('base64')}` },
    ],
    ['a malformed Basic header', { authorization: 'Basic %%%' }],
  ])('%s: 401 with the challenge', async (_label, headers) => {
    const res = await get('/queues/api/queues', typeof headers === 'function' ? headers() : headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="queues"');
  });

  it.each([
    ['navigator', NAVIGATOR],
    ['integration', INTEGRATION],
  ])('a valid %s key: 403 by Bearer and by Basic, and nothing of the board', async (role, key) => {
    for (const headers of [bearer(key), basic(key)]) {
      for (const path of ['/queues', '/queues/api/queues']) {
        const res = await get(path, headers);
        expect(res.status).toBe(403);
        expect(JSON.parse(res.text).message).toBe(`role '${role}' may not open the queues board; allowed: lead, admin`);
      }
    }
  });

  it('a lead by Bearer gets the board page (HTML), not cached', async () => {
    const res = await get('/queues', bearer(LEAD));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Sarcoma pathway queues</title>');
    // the UI loads its assets and calls its API under the mount path
    expect(res.text).toContain('<base href="/queues/" />');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('an admin by Basic (any user name, the key as password) gets the board and its assets', async () => {
    const page = await get('/queues', basic(ADMIN, 'ada'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Sarcoma pathway queues</title>');
    const asset = await get('/queues/static/favicon-32x32.png', basic(ADMIN));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('image/png');
  });

  it('the board is not part of the OpenAPI document (the guard and the endpoint matrix do not see it)', async () => {
    const doc = JSON.parse((await get('/docs/openapi.json')).text) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/queues'))).toEqual([]);
  });
});

describe('what a lead sees', () => {
  it('the three queues, read-only, with counts that follow the jobs published', async () => {
    const before = await boardQueues();
    expect(before.map((q) => q.name).sort()).toEqual([CLINICAL_EVENTS_QUEUE, NOTIFICATIONS_QUEUE, TIMERS_QUEUE]);
    expect(before.map((q) => [q.name, q.readOnlyMode, q.allowRetries])).toEqual(
      before.map((q) => [q.name, true, false]),
    );
    expect(countsOf(before)).toEqual({
      [CLINICAL_EVENTS_QUEUE]: { waiting: 0, delayed: 0 },
      [NOTIFICATIONS_QUEUE]: { waiting: 0, delayed: 0 },
      [TIMERS_QUEUE]: { waiting: 0, delayed: 0 },
    });

    await publisher.publish([
      clinicalEvent('qb-1', PATIENT, 'patient.registered', '2030-03-01T09:00:00Z', {
        primarySite: 'thigh',
        diagnosisDate: '2030-02-20',
        careTeam: 'sarcoma-north',
      }),
      clinicalEvent('qb-2', PATIENT, 'surgery.performed', '2030-03-10T09:00:00Z', {
        procedure: 'wide-excision',
        performedAt: '2030-03-10T09:00:00Z',
      }),
    ]);
    await notifications.add('deliver', { notificationIds: ['n-qb-1'] }, { jobId: 'deliver.qb-1' });
    await timers.add(
      'escalate',
      { taskId: 't-qb-1', level: 'navigator-lead' },
      { jobId: 'escalate.qb', delay: 3_600_000 },
    );

    expect(countsOf(await boardQueues())).toEqual({
      [CLINICAL_EVENTS_QUEUE]: { waiting: 2, delayed: 0 },
      [NOTIFICATIONS_QUEUE]: { waiting: 1, delayed: 0 },
      [TIMERS_QUEUE]: { waiting: 0, delayed: 1 },
    });
  });

  it('clinical-event jobs by id and type, their payload hidden; other queues show their ids and codes', async () => {
    const queues = await boardQueues(`?activeQueue=${CLINICAL_EVENTS_QUEUE}&status=waiting&page=1&jobsPerPage=10`);
    const events = queues.find((q) => q.name === CLINICAL_EVENTS_QUEUE)!;
    expect(events.jobs.map((j) => [j.id, j.name, j.data]).sort()).toEqual([
      ['qb-1', 'patient.registered', HIDDEN_EVENT_DATA],
      ['qb-2', 'surgery.performed', HIDDEN_EVENT_DATA],
    ]);
    const one = await get(`/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/qb-1`, basic(LEAD));
    expect(one.status).toBe(200);
    expect(JSON.parse(one.text).job.data).toEqual(HIDDEN_EVENT_DATA);
    for (const text of [JSON.stringify(queues), one.text]) {
      expect(text).not.toContain(PATIENT);
      expect(text).not.toContain('thigh');
    }

    const other = await boardQueues(`?activeQueue=${NOTIFICATIONS_QUEUE}&status=waiting&page=1&jobsPerPage=10`);
    expect(other.find((q) => q.name === NOTIFICATIONS_QUEUE)!.jobs.map((j) => j.data)).toEqual([
      { notificationIds: ['n-qb-1'] },
    ]);
  });

  it.each([
    ['PUT', `/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/pause`],
    ['PUT', '/queues/api/queues/pause'],
    ['PUT', `/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/clean/waiting`],
    ['PUT', `/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/qb-1/clean`],
    ['PUT', `/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/retry/failed`],
    ['PUT', `/queues/api/queues/${TIMERS_QUEUE}/promote`],
    ['POST', `/queues/api/queues/${NOTIFICATIONS_QUEUE}/add`],
    ['PUT', `/queues/api/queues/${CLINICAL_EVENTS_QUEUE}/obliterate`],
  ])('%s %s is refused (read-only) for a lead and an admin, and changes nothing', async (method, path) => {
    for (const headers of [bearer(LEAD), basic(ADMIN)]) {
      const res = await send(method, path, headers);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    // auth comes first: a navigator learns nothing more than 403
    expect((await send(method, path, bearer(NAVIGATOR))).status).toBe(403);
    expect(await publisher.queue.isPaused()).toBe(false);
    expect(countsOf(await boardQueues())).toEqual({
      [CLINICAL_EVENTS_QUEUE]: { waiting: 2, delayed: 0 },
      [NOTIFICATIONS_QUEUE]: { waiting: 1, delayed: 0 },
      [TIMERS_QUEUE]: { waiting: 0, delayed: 1 },
    });
  });
});
