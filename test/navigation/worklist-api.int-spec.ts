/**
 * The navigator's HTTP API with the demo teams and keys (config/demo-teams.json), the worker consuming: the
 * worklist (urgent first, then by due date; filters; pages; why each task exists), the task lifecycle enforced by
 * the server (409 changes nothing), a lead's reassignment, and another team's key kept out.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { FakeClock } from '@app/store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { localRecurrenceJourney } from '../support/events';
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
const LEAD = 'demo-lead-key'; // Idris Calloway, navigator lead, sarcoma-north
const ADMIN = 'demo-admin-key';

beforeAll(async () => {
  db = await createTestDatabase('worklist');
  await seedDemoTeams(db.pool);
  const prefix = uniquePrefix('worklist');
  worker = await startWorker({ databaseUrl: db.url, prefix, clock });
  ({ app: api, base } = await startApi({ databaseUrl: db.url, prefix, clock }));
});
afterAll(async () => {
  await api.close();
  await worker.close();
  await db.drop();
});

async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

interface Row {
  id: string;
  type: string;
  priority: string;
  status: string;
  dueAt: string;
  ruleId: string;
  reason: string;
  overdue: boolean;
  assigneeId: string | null;
}

const journey = localRecurrenceJourney('wl', 'P-WL-1');

let mine: Row[];

it('the worklist: my open tasks, urgent first then by due date, each saying which rule and why', async () => {
  for (const event of journey) expect((await call('POST', '/events', INTEGRATION, event)).status).toBe(202);
  const page = await waitFor(
    () => call('GET', '/worklist', NAVIGATOR),
    (r) => r.body.total === 3,
    { what: "three tasks on the navigator's worklist" },
  );
  mine = page.body.items;
  expect(mine.map((t) => `${t.priority} ${t.type} ${t.ruleId}`)).toEqual([
    'urgent imaging-order R-LR-ESCALATE',
    'urgent imaging-order R-LR-ESCALATE',
    'routine data-quality-review R-UNEXPECTED',
  ]);
  expect(mine[0].dueAt <= mine[1].dueAt).toBe(true);
  expect(mine[0].reason).toMatch(/local recurrence \(HR 8\.4 for distant metastasis \[1\]\).*\(R-LR-ESCALATE\)/);
  // due 2 days after the recurrence (2030-06-01 09:00): not yet overdue at 08:00; the review (due 04-08) is
  expect(mine.map((t) => t.overdue)).toEqual([false, false, true]);
});

it('filters by type, priority, overdue and due date, and pages', async () => {
  const q = async (query: string) => (await call('GET', `/worklist?${query}`, NAVIGATOR)).body;
  expect((await q('type=data-quality-review')).items.map((t: Row) => t.id)).toEqual([mine[2].id]);
  expect((await q('priority=urgent')).total).toBe(2);
  expect((await q('overdue=true')).items.map((t: Row) => t.id)).toEqual([mine[2].id]);
  expect((await q('dueBefore=2030-05-01T00:00:00Z')).items.map((t: Row) => t.id)).toEqual([mine[2].id]);
  const second = await q('limit=1&offset=1');
  expect({ total: second.total, ids: second.items.map((t: Row) => t.id) }).toEqual({ total: 3, ids: [mine[1].id] });
  expect((await call('GET', '/worklist?priority=soon', NAVIGATOR)).status).toBe(400);
  // the lead's own list is empty; the team's is everyone's
  expect((await call('GET', '/worklist', LEAD)).body.total).toBe(0);
  expect((await call('GET', '/worklist?scope=team', LEAD)).body.total).toBe(3);
});

it('walks a task through its lifecycle; an illegal step is 409, names what is allowed, and changes nothing', async () => {
  const id = mine[0].id;
  const accepted = await call('POST', `/tasks/${id}/accept`, NAVIGATOR);
  expect(accepted).toMatchObject({ status: 200, body: { status: 'accepted', acceptedAt: clock.now().toISOString() } });
  const illegal = await call('POST', `/tasks/${id}/complete`, NAVIGATOR);
  expect(illegal).toEqual({
    status: 409,
    body: {
      statusCode: 409,
      message: 'cannot complete a task that is accepted; allowed now: start, hold, reject, cancel, reassign',
    },
  });
  expect((await call('GET', `/tasks/${id}`, NAVIGATOR)).body.status).toBe('accepted');
  expect((await call('POST', `/tasks/${id}/hold`, NAVIGATOR)).status).toBe(422); // a hold needs a reason
  expect((await call('POST', `/tasks/${id}/hold`, NAVIGATOR, { reason: 'scanner down' })).body.status).toBe('on-hold');
  expect((await call('POST', `/tasks/${id}/resume`, NAVIGATOR)).body.status).toBe('accepted');
  expect((await call('POST', `/tasks/${id}/start`, NAVIGATOR)).body.status).toBe('in-progress');
  const done = await call('POST', `/tasks/${id}/complete`, NAVIGATOR);
  expect(done.body.status).toBe('completed');
  expect(done.body.history.map((h: { action: string }) => h.action)).toEqual([
    'created',
    'routed',
    'accept',
    'hold',
    'resume',
    'start',
    'complete',
  ]);
  expect(done.body.history.find((h: { action: string }) => h.action === 'hold').reason).toBe('scanner down');
  expect((await call('GET', '/worklist', NAVIGATOR)).body.items.map((t: Row) => t.id)).not.toContain(id);
  expect((await call('POST', `/tasks/${id}/frobnicate`, NAVIGATOR)).status).toBe(404);
});

it('a lead reassigns with a reason (the new assignee is told); a navigator may not; another team is kept out', async () => {
  const id = mine[1].id;
  const team = (await call('GET', '/teams/sarcoma-north', ADMIN)).body;
  const clinicalLead = team.members.find((m: { role: string }) => m.role === 'clinical-lead');
  expect(
    (await call('POST', `/tasks/${id}/reassign`, NAVIGATOR, { assigneeId: clinicalLead.id, reason: 'x' })).status,
  ).toBe(403);
  const reassigned = await call('POST', `/tasks/${id}/reassign`, LEAD, {
    assigneeId: clinicalLead.id,
    reason: 'navigator on leave',
  });
  expect(reassigned.body).toMatchObject({ assigneeId: clinicalLead.id, status: 'requested' });
  expect(reassigned.body.history.at(-1)).toMatchObject({ action: 'reassign', reason: 'navigator on leave' });
  await waitFor(
    async () => (await call('GET', `/tasks/${id}`, LEAD)).body.notifications,
    (n: { kind: string; memberId: string; status: string }[]) =>
      n.some((x) => x.kind === 'task-reassigned' && x.memberId === clinicalLead.id && x.status === 'sent'),
    { what: 'the reassignment email sent' },
  );

  // a navigator of sarcoma-south, with a key made by the admin
  const south = (await call('GET', '/teams/sarcoma-south', ADMIN)).body;
  const southNav = south.members.find((m: { role: string }) => m.role === 'navigator');
  const key = (await call('POST', '/api-keys', ADMIN, { role: 'navigator', memberId: southNav.id, label: 'south' }))
    .body.secret;
  expect((await call('GET', `/tasks/${id}`, key)).status).toBe(403);
  expect((await call('POST', `/tasks/${id}/accept`, key)).status).toBe(403);
  expect((await call('GET', '/worklist?scope=team', key)).body.total).toBe(0);
});
