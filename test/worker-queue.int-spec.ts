/**
 * The worker consuming the real clinical-events queue (Redis) into the real PostgreSQL: events become
 * state, tasks and outbox jobs; redeliveries change nothing; invalid events are dead-lettered while valid
 * ones keep flowing.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { NOTIFICATIONS_QUEUE, TIMERS_QUEUE, type ClinicalEvent } from '@app/contracts';
import { FakeClock } from '@app/store';
import { createTestDatabase, type TestDatabase } from './support/database';
import { clinicalEvent, marginPositiveJourney } from './support/events';
import { eventsLogged, UpstreamPublisher, uniquePrefix, waitFor } from './support/queues';
import { startWorker } from './support/worker';

// Time is injected (invariant 8): the worker runs on a clock the test sets.
const NOW = '2030-06-01T08:00:00.000Z';
const clock = new FakeClock(new Date(NOW));
let db: TestDatabase;
let upstream: UpstreamPublisher;
let worker: INestApplicationContext;

beforeAll(async () => {
  db = await createTestDatabase('queue');
  const prefix = uniquePrefix('queue');
  upstream = new UpstreamPublisher(prefix);
  worker = await startWorker({ databaseUrl: db.url, prefix, clock });
});
afterAll(async () => {
  await worker.close();
  await upstream.destroy();
  await db.drop();
});

const scalar = async (sql: string, params: unknown[] = []): Promise<number> =>
  (await db.pool.query<{ n: number }>(sql, params)).rows[0].n;

const logged = (ids: string[]) => eventsLogged(db.pool, ids);

it('turns a published journey into state, tasks and relayed outbox jobs', async () => {
  const journey = marginPositiveJourney('q-r1', 'P-Q-R1');
  await upstream.publish(journey);
  await logged(journey.map((e) => e.eventId));

  const patient = await db.pool.query('SELECT pathway, version FROM patients WHERE patient_id = $1', ['P-Q-R1']);
  expect(patient.rows[0]).toEqual({ pathway: 're-excision-review', version: 3 });
  const tasks = await db.pool.query<{ id: string; type: string; rule_id: string; created_at: string }>(
    'SELECT id, type, rule_id, created_at FROM tasks WHERE patient_id = $1 ORDER BY type',
    ['P-Q-R1'],
  );
  expect(tasks.rows.map((t) => `${t.type}/${t.rule_id}`)).toEqual(
    expect.arrayContaining(['re-excision-review/R-MARGIN-R1']),
  );
  expect(tasks.rows.every((t) => t.created_at === NOW)).toBe(true);

  // The relay publishes one notification job per event (deterministic id) naming its tasks, and no patient id.
  const notifications = worker.get<Queue>(getQueueToken(NOTIFICATIONS_QUEUE));
  await waitFor(
    () => scalar('SELECT count(*)::int AS n FROM outbox'),
    (n) => n === 0,
    { what: 'outbox drained' },
  );
  const job = await notifications.getJob(`tasks-created.${journey[2].eventId}`);
  const announced = (job?.data as { tasks: { taskId: string; type: string }[] }).tasks;
  expect(announced.map((t) => `${t.taskId}/${t.type}`).sort()).toEqual(
    tasks.rows
      .filter((t) => t.created_at === NOW)
      .map((t) => `${t.id}/${t.type}`)
      .sort(),
  );
  expect(JSON.stringify(job?.data)).not.toContain('P-Q-R1');
});

it('100 redeliveries of one event through the queue give one log row and one set of tasks', async () => {
  const [registered] = marginPositiveJourney('q-redeliver', 'P-Q-REDELIVER');
  const surgery = clinicalEvent('q-redeliver-unplanned', 'P-Q-REDELIVER', 'surgery.performed', '2025-03-01T08:00:00Z', {
    procedure: 'unplanned-excision',
    performedAt: '2025-03-01T08:00:00Z',
  });
  await upstream.publish([registered]);
  await logged([registered.eventId]);
  for (let i = 0; i < 100; i += 1) {
    // A redelivery: BullMQ would ignore a second add while the first job exists, so remove it first,
    // as removeOnComplete eventually does, or as a publisher that lost its acknowledgement retries.
    await upstream.publish([surgery]);
    await waitFor(
      () => upstream.queue.getJobState(surgery.eventId),
      (s) => s === 'completed',
      { what: 'job completed' },
    );
    await upstream.queue.remove(surgery.eventId);
  }
  expect(await scalar('SELECT count(*)::int AS n FROM clinical_events WHERE event_id = $1', [surgery.eventId])).toBe(1);
  const tasks = await db.pool.query('SELECT id, type, rule_id FROM tasks WHERE event_id = $1 ORDER BY type', [
    surgery.eventId,
  ]);
  expect(tasks.rows.filter((t) => t.rule_id === 'R-UNPLANNED').map((t) => t.type)).toEqual(
    expect.arrayContaining(['imaging-order', 'mdt-review', 're-excision-review']),
  );
  // One notification job for the event's tasks, however many deliveries: the outbox drained into BullMQ once.
  await waitFor(
    () => scalar('SELECT count(*)::int AS n FROM outbox'),
    (n) => n === 0,
    { what: 'outbox drained' },
  );
  const notifications = worker.get<Queue>(getQueueToken(NOTIFICATIONS_QUEUE));
  const jobs = await notifications.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
  const taskIds = new Set(tasks.rows.map((t) => t.id));
  const announcing = jobs.filter((job) =>
    ((job.data as { tasks?: { taskId: string }[] }).tasks ?? []).some((t) => taskIds.has(t.taskId)),
  );
  expect(announcing.map((job) => job.id)).toEqual([`tasks-created.${surgery.eventId}`]);
  expect((announcing[0].data as { tasks: { taskId: string }[] }).tasks.map((t) => t.taskId).sort()).toEqual(
    [...taskIds].sort(),
  );
  expect(await scalar('SELECT version AS n FROM patients WHERE patient_id = $1', ['P-Q-REDELIVER'])).toBe(2);
});

it('50 invalid events become 50 dead letters with field and reason while valid events keep flowing', async () => {
  const invalid: { name: string; data: unknown; jobId: string; field: string }[] = Array.from(
    { length: 50 },
    (_, i) => {
      const base = marginPositiveJourney(`q-bad-${i}`, `P-Q-BAD-${i}`)[2];
      switch (i % 5) {
        case 0:
          return {
            name: base.type,
            jobId: base.eventId,
            field: 'payload.margin',
            data: { ...base, payload: { ...base.payload, margin: 'R9' } },
          };
        case 1:
          return {
            name: base.type,
            jobId: base.eventId,
            field: 'payload.colour',
            data: { ...base, payload: { ...base.payload, colour: 'blue' } },
          };
        case 2:
          return {
            name: base.type,
            jobId: base.eventId,
            field: 'occurredAt',
            data: { ...base, occurredAt: 'yesterday' },
          };
        case 3:
          return { name: 'surgery.performed', jobId: base.eventId, field: 'type', data: base };
        default:
          return {
            name: base.type,
            jobId: base.eventId,
            field: 'payload.sizeCm',
            data: { ...base, payload: { ...base.payload, sizeCm: -1 } },
          };
      }
    },
  );
  const valid: ClinicalEvent[] = Array.from(
    { length: 50 },
    (_, i) => marginPositiveJourney(`q-good-${i}`, `P-Q-GOOD-${i}`)[0],
  );
  for (let i = 0; i < 50; i += 1) {
    await upstream.publishRaw(invalid[i].name, invalid[i].data, invalid[i].jobId);
    await upstream.publish([valid[i]]);
  }
  await logged(valid.map((e) => e.eventId));
  const letters = await waitFor(
    () =>
      db.pool.query<{ event_id: string; errors: { field: string; reason: string }[]; payload: unknown }>(
        `SELECT event_id, errors, payload FROM dead_letters WHERE event_id LIKE 'q-bad-%'`,
      ),
    (r) => r.rowCount === 50,
    { what: '50 dead letters' },
  );
  for (const letter of letters.rows) {
    const sent = invalid.find((x) => x.jobId === letter.event_id)!;
    expect(letter.errors.map((e) => e.field)).toContain(sent.field);
    expect(letter.errors.every((e) => e.reason.length > 0)).toBe(true);
    expect(letter.payload).toEqual(sent.data);
  }
  // Dead-lettered, not retried: each failed once.
  for (const x of invalid.slice(0, 5)) {
    const job = await upstream.queue.getJob(x.jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(await job?.getState()).toBe('failed');
  }
  expect(await scalar(`SELECT count(*)::int AS n FROM clinical_events WHERE event_id LIKE 'q-bad-%'`)).toBe(0);
});

it('escalation timers for urgent recurrence tasks are delayed jobs with deterministic ids', async () => {
  const [registered] = marginPositiveJourney('q-lr', 'P-Q-LR');
  const recurrence = clinicalEvent('q-lr-recurrence', 'P-Q-LR', 'recurrence.detected', '2026-01-10T09:00:00Z', {
    kind: 'local',
  });
  await upstream.publish([registered, recurrence]);
  await logged([registered.eventId, recurrence.eventId]);
  const urgent = await db.pool.query<{ id: string }>(
    `SELECT id FROM tasks WHERE event_id = $1 AND priority = 'urgent' AND escalate`,
    [recurrence.eventId],
  );
  expect(urgent.rowCount).toBeGreaterThanOrEqual(3);
  const timers = worker.get<Queue>(getQueueToken(TIMERS_QUEUE));
  await waitFor(
    () => timers.getJob(`escalate.${urgent.rows[0].id}.clinical-lead`),
    (job) => !!job,
    { what: 'timer job' },
  );
  const job = await timers.getJob(`escalate.${urgent.rows[0].id}.navigator-lead`);
  // Due 24 h after the task was created, by the injected clock.
  expect(job?.opts.delay).toBe(24 * 3_600_000);
  expect(await job?.getState()).toBe('delayed');
});
