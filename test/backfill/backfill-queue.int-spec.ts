/**
 * A backfill through the real queue: years of a cohort's history as batch jobs on `clinical-events-backfill`,
 * other patients' live events on `clinical-events` at the same time, one bad record in a batch. Every valid
 * event is applied once, the bad one is dead-lettered with its field and reason and holds nothing back, the tasks
 * the history left open are routed to people, and the patients end as the one-event door leaves them.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { chronological, generateCohort } from '@app/cohort';
import { CLINICAL_EVENTS_BACKFILL_QUEUE, clinicalEventBatchJob, type ClinicalEvent } from '@app/contracts';
import { createPathway } from '@app/pathway';
import { redisConnection } from '@app/platform';
import { ClinicalEventApplier } from '@app/store';
import { escalationSteps } from '../../apps/worker/src/clinical-events/clinical-event-intake';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { REDIS_URL, UpstreamPublisher, uniquePrefix, waitFor } from '../support/queues';
import { seedTestTeams } from '../support/teams';
import { startWorker } from '../support/worker';

jest.setTimeout(360_000);

let db: TestDatabase;
let reference: TestDatabase;
let worker: INestApplicationContext;
let backfill: Queue;
let live: UpstreamPublisher;

beforeAll(async () => {
  [db, reference] = await Promise.all([createTestDatabase('backfill'), createTestDatabase('backfill_ref')]);
  await seedTestTeams(db.pool);
  const prefix = uniquePrefix('backfill');
  backfill = new Queue(CLINICAL_EVENTS_BACKFILL_QUEUE, { connection: redisConnection(REDIS_URL, 'worker'), prefix });
  live = new UpstreamPublisher(prefix);
  worker = await startWorker({ databaseUrl: db.url, prefix, config: { BACKFILL_CONCURRENCY: 2 } });
});
afterAll(async () => {
  await worker?.close();
  await backfill?.obliterate({ force: true }).catch(() => undefined);
  await backfill?.close();
  await live?.destroy();
  await Promise.all([db?.drop(), reference?.drop()]);
});

async function count(sql: string, values: unknown[] = []): Promise<number> {
  return (await db.pool.query<{ n: number }>(sql, values)).rows[0].n;
}

it('applies every valid event once, dead-letters the bad record, and routes what the history left open', async () => {
  const history = chronological(generateCohort({ patients: 120, seed: 77, idPrefix: 'bf' }));
  // other patients' events arrive live while the history is being loaded
  const recent = chronological(generateCohort({ patients: 30, seed: 78, idPrefix: 'live' }));
  const events = [...history, ...recent];
  const bad = { ...history[10], eventId: 'bf-bad-1', occurredAt: 'last tuesday' };
  const batches: unknown[][] = [];
  for (let i = 0; i < history.length; i += 200) batches.push(history.slice(i, i + 200));
  batches[0].splice(5, 0, bad);

  await backfill.addBulk(batches.map((b, n) => clinicalEventBatchJob(`bf-batch-${n}`, b as ClinicalEvent[])));
  // a batch re-published (an upstream retry) changes nothing
  await backfill.addBulk([clinicalEventBatchJob('bf-batch-0-again', batches[0] as ClinicalEvent[])]);
  await live.publish(recent);

  const expected = events.length;
  await waitFor(
    () => count('SELECT count(*)::int AS n FROM clinical_events'),
    (n) => n === expected,
    {
      timeoutMs: 240_000,
      what: `${expected} events in the log`,
    },
  );
  await waitFor(
    () => backfill.getJobCounts('completed', 'failed', 'active', 'wait'),
    (c) => c.completed === batches.length + 1 && c.active + c.wait === 0,
    { what: 'every batch completed' },
  );
  const again = await backfill.getJob('bf-batch-0-again');
  expect(again?.returnvalue.outcomes.duplicate).toBe(batches[0].length - 1);
  expect(again?.returnvalue.outcomes.invalid).toBe(1);

  const letters = await db.pool.query<{ dedupe_key: string; errors: { field: string; reason: string }[] }>(
    `SELECT dedupe_key, errors FROM dead_letters WHERE payload->>'eventId' = 'bf-bad-1'`,
  );
  // one letter per batch that carried it, naming the batch and the position in it
  expect(letters.rows.map((r) => r.dedupe_key).sort()).toEqual([
    'backfill.bf-batch-0-again.5',
    'backfill.bf-batch-0.5',
  ]);
  expect(letters.rows[0].errors[0].field).toBe('occurredAt');

  // the same patients as the one-event door leaves them, event by event in the same order
  const pathway = createPathway();
  const door = new ClinicalEventApplier(reference.pool, pathway);
  for (const event of events) await door.apply(event, { now: new Date(), escalation: escalationSteps(pathway) });
  const states = async (pool: TestDatabase['pool']) =>
    (await pool.query('SELECT patient_id, pathway, state, version FROM patients ORDER BY patient_id')).rows;
  expect(await states(db.pool)).toEqual(await states(reference.pool));

  // the open tasks the history left are routed to people (tasks-created jobs from the batch's outbox rows)
  const open = `status NOT IN ('completed', 'cancelled', 'rejected')`;
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM tasks WHERE ${open} AND assignee_id IS NULL`),
    (n) => n === 0,
    { timeoutMs: 90_000, what: 'every open task routed' },
  );
  expect(await count(`SELECT count(*)::int AS n FROM tasks WHERE ${open}`)).toBeGreaterThan(0);

  // BACKFILL_EMAILS=urgent (the default): the history's urgent tasks are emailed, the rest are on the worklist only;
  // the live patients' emails all go out. (Surveillance orders the sweeper opens now are today's work, emailed as
  // usual: left out here.)
  await waitFor(
    () => count(`SELECT count(*)::int AS n FROM notifications WHERE status = 'pending'`),
    (n) => n === 0,
    { timeoutMs: 90_000, what: 'no email pending' },
  );
  const { rows: emails } = await db.pool.query<{ origin: string; priority: string; status: string; n: number }>(
    `SELECT CASE WHEN t.patient_id LIKE 'BF-%' THEN 'backfill' ELSE 'live' END AS origin, t.priority, n.status,
            count(*)::int AS n
       FROM notifications n JOIN tasks t ON t.id = n.task_id
      WHERE n.kind = 'task-assigned' AND t.status NOT IN ('completed', 'cancelled', 'rejected')
        AND t.surveillance_item_key IS NULL
      GROUP BY 1, 2, 3`,
  );
  const emailed = (origin: string, urgent: boolean, status: string) =>
    emails
      .filter((r) => r.origin === origin && (r.priority === 'urgent') === urgent && r.status === status)
      .reduce((sum, r) => sum + r.n, 0);
  expect(emailed('backfill', false, 'skipped')).toBeGreaterThan(0);
  expect(emailed('backfill', false, 'sent')).toBe(0);
  expect(emailed('backfill', true, 'sent')).toBeGreaterThan(0);
  expect(emailed('backfill', true, 'skipped')).toBe(0);
  expect(emailed('live', false, 'sent')).toBeGreaterThan(0);
  expect(emailed('live', false, 'skipped')).toBe(0);
  const reasons = await db.pool.query<{ last_error: string }>(
    `SELECT DISTINCT n.last_error FROM notifications n JOIN tasks t ON t.id = n.task_id
      WHERE n.status = 'skipped' AND t.patient_id LIKE 'BF-%' AND t.status NOT IN ('completed', 'cancelled', 'rejected')`,
  );
  expect(reasons.rows.map((r) => r.last_error)).toEqual([
    'from a backfill: on the worklist, not emailed (BACKFILL_EMAILS=urgent)',
  ]);
});
